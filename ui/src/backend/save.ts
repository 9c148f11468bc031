// "Save as" for documents and exports. In the window the desk opens the native save dialog and
// writes the file itself (the webview never chooses paths or touches the disk); in browser mode the
// bytes the command already returned become a download.
import { invoke } from "@tauri-apps/api/core";
import type { AuditQuery } from "../bindings/AuditQuery";
import type { DocumentRef } from "../bindings/DocumentRef";
import { BackendError } from "./error";
import type { Backend } from "./index";

/** What to save: a document (fetched again by the desk) or the audit log as CSV. */
export type SaveTarget = { kind: "document"; document: DocumentRef } | { kind: "audit_csv"; query: AuditQuery };

/** What browser mode downloads. */
export interface Download {
  fileName: string;
  contentType: string;
  bytes: Uint8Array | string;
}

/** Saves; resolves to false when the person cancelled the dialog. */
export async function saveAs(backend: Backend, target: SaveTarget, download: () => Promise<Download>): Promise<boolean> {
  if (backend.transport === "tauri") {
    try {
      return await invoke<boolean>("save_as", { target });
    } catch (reason) {
      throw BackendError.from(reason);
    }
  }
  const file = await download();
  const blob = new Blob([file.bytes as BlobPart], { type: file.contentType });
  const url = URL.createObjectURL(blob);
  try {
    const link = document.createElement("a");
    link.href = url;
    link.download = file.fileName;
    link.rel = "noopener";
    document.body.appendChild(link);
    link.click();
    link.remove();
  } finally {
    // The download has its own copy once started; the object URL must not outlive the click.
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
  return true;
}

/** The bytes of a base64 string. */
export function base64ToBytes(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
