/// <reference types="vite/client" />
// A PDF shown inside the desk (pdf.js renders it to canvases from bytes the desk command returned:
// no temporary file, no address of the server in the webview), with "Save as" and "Print".
import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useBackend } from "../backend/context";
import { BackendError } from "../backend/error";
import { base64ToBytes, saveAs } from "../backend/save";
import type { DocumentRef } from "../bindings/DocumentRef";
import { Modal } from "./Modal";
import { QueryState } from "./Loading";

/** The query key of a document: the command and its arguments. */
export function documentKey(document: DocumentRef) {
  return ["open_document", document] as const;
}

async function renderPdf(
  bytes: Uint8Array,
  into: HTMLElement,
  signal: { cancelled: boolean },
  onPage: (drawn: number, total: number) => void,
): Promise<number> {
  // Loaded on first use: the viewer is not needed to start the desk.
  const pdfjs = await import("pdfjs-dist");
  const worker = await import("pdfjs-dist/build/pdf.worker.min.mjs?url");
  pdfjs.GlobalWorkerOptions.workerSrc = worker.default;
  // pdf.js keeps the buffer it is given; hand it a copy so the query's data stays intact.
  const task = pdfjs.getDocument({ data: bytes.slice(), isEvalSupported: false });
  const pdf = await task.promise;
  try {
    const width = Math.max(320, into.clientWidth - 24);
    for (let n = 1; n <= pdf.numPages && !signal.cancelled; n++) {
      const page = await pdf.getPage(n);
      const base = page.getViewport({ scale: 1 });
      const scale = width / base.width;
      const viewport = page.getViewport({ scale: scale * window.devicePixelRatio });
      const canvas = document.createElement("canvas");
      canvas.width = Math.floor(viewport.width);
      canvas.height = Math.floor(viewport.height);
      canvas.style.width = `${Math.floor(base.width * scale)}px`;
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `Page ${n} of ${pdf.numPages}`);
      into.appendChild(canvas);
      await page.render({ canvas, viewport }).promise;
      if (!signal.cancelled) onPage(n, pdf.numPages);
    }
    return pdf.numPages;
  } finally {
    void pdf.destroy();
  }
}

export function DocumentViewer({
  document,
  title,
  onClose,
}: {
  document: DocumentRef;
  title: string;
  onClose: () => void;
}) {
  const backend = useBackend();
  const pagesRef = useRef<HTMLDivElement>(null);
  const [pages, setPages] = useState<number | null>(null);
  // Pages drawn so far while a long document renders: the first page shows at once.
  const [drawn, setDrawn] = useState<{ drawn: number; total: number } | null>(null);
  const [renderError, setRenderError] = useState<string | null>(null);
  const [saveNote, setSaveNote] = useState<string | null>(null);
  const opened = useQuery({
    queryKey: documentKey(document),
    queryFn: () => backend.invoke("open_document", { document }),
    // Each opening is one audited view; a document is not refetched behind the person's back.
    staleTime: Infinity,
    gcTime: 0,
    retry: false,
  });
  const view = opened.data;

  useEffect(() => {
    const into = pagesRef.current;
    if (!view || !into) return;
    const signal = { cancelled: false };
    into.replaceChildren();
    setPages(null);
    setDrawn(null);
    setRenderError(null);
    renderPdf(base64ToBytes(view.base64), into, signal, (n, total) => setDrawn({ drawn: n, total }))
      .then((n) => !signal.cancelled && setPages(n))
      .catch((reason: unknown) => {
        if (!signal.cancelled) setRenderError(reason instanceof Error ? reason.message : String(reason));
      });
    return () => {
      signal.cancelled = true;
      into.replaceChildren();
    };
  }, [view]);

  const save = async () => {
    setSaveNote(null);
    try {
      const saved = await saveAs(backend, { kind: "document", document }, async () => ({
        fileName: view?.fileName ?? "document.pdf",
        contentType: view?.contentType ?? "application/pdf",
        bytes: base64ToBytes(view?.base64 ?? ""),
      }));
      setSaveNote(saved ? "Saved." : null);
    } catch (reason) {
      setSaveNote(BackendError.from(reason).message);
    }
  };

  return (
    <Modal title={title} onClose={onClose} className="modal-document">
      <div className="document-toolbar">
        {view && <span className="list-meta">{view.fileName}</span>}
        {view && pages !== null && (
          <span className="list-meta">
            {pages} page{pages === 1 ? "" : "s"}
          </span>
        )}
        <span className="topbar-spacer" />
        <button type="button" className="secondary" onClick={() => void save()} disabled={!view}>
          Save as…
        </button>
        <button type="button" className="secondary" onClick={() => window.print()} disabled={pages === null}>
          Print
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {saveNote && (
        <p role="status" className="hint">
          {saveNote}
        </p>
      )}
      {view?.provisional && (
        <p className="warning-strip provisional-note" role="note">
          Provisional receipt — pending confirmation: the payment is queued on this desk and not yet confirmed by the
          server.
        </p>
      )}
      {view?.fromCache && !view.provisional && (
        <p className="notice" role="note">
          The server cannot be reached: this copy comes from this desk's encrypted cache.
        </p>
      )}
      {!view && <QueryState pending={opened.isPending} error={opened.error} what="document" />}
      {view && pages === null && !renderError && drawn === null && <p role="status">Rendering…</p>}
      {view && pages === null && !renderError && drawn !== null && (
        <p role="status" className="hint">
          Showing {drawn.drawn} of {drawn.total} pages; the rest are on their way…
        </p>
      )}
      {renderError && (
        <p role="alert" className="error">
          The document cannot be shown: {renderError}
        </p>
      )}
      <div className="document-pages print-area" ref={pagesRef} aria-label={`${title}, pages`} role="region" tabIndex={0} />
    </Modal>
  );
}
