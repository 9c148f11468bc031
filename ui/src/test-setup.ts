import "@testing-library/jest-dom/vitest";
import { configure } from "@testing-library/react";

// `findBy…` waits up to 1 s by default; a busy 2-core machine can take longer to render a screen
// whose data arrives through several queries. A screen that never appears still fails.
configure({ asyncUtilTimeout: 5_000 });
