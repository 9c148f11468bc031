import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The UI is embedded in the `frontdesk` binary (Tauri custom protocol) and served by browser mode
// from the same bytes, so it must work from any origin with relative asset paths.
export default defineConfig({
  plugins: [react()],
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test-setup.ts"],
    // The form tests type whole names key by key through jsdom; on a busy 2-core machine that
    // alone can take longer than the default 5 s.
    testTimeout: 20_000,
  },
});
