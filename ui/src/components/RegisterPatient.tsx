// Registering a patient: the server's own rules checked as the receptionist types (by the desk,
// offline too), possible duplicates shown with why before saving, and the save queued through
// the desk's outbox, so it works offline and shows as pending until the server confirms it.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useDeferredValue, useId, useRef, useState } from "react";
import { useBackend } from "../backend/context";
import { BackendError } from "../backend/error";
import type { Allergy } from "../bindings/Allergy";
import type { DuplicateCandidate } from "../bindings/DuplicateCandidate";
import type { NewPatient } from "../bindings/NewPatient";
import { formatDate, fullName } from "../format";
import { describeReasons } from "./duplicates";

interface Form {
  firstName: string;
  lastName: string;
  dateOfBirth: string;
  gender: string;
  phone: string;
  email: string;
  line1: string;
  city: string;
  state: string;
  postalCode: string;
}

const EMPTY: Form = {
  firstName: "",
  lastName: "",
  dateOfBirth: "",
  gender: "",
  phone: "",
  email: "",
  line1: "",
  city: "",
  state: "",
  postalCode: "",
};

/** The API's field path of each form field, for its problems. */
const PATHS: Record<keyof Form, string> = {
  firstName: "firstName",
  lastName: "lastName",
  dateOfBirth: "dateOfBirth",
  gender: "gender",
  phone: "contactInfo.phone",
  email: "contactInfo.email",
  line1: "contactInfo.address.line1",
  city: "contactInfo.address.city",
  state: "contactInfo.address.state",
  postalCode: "contactInfo.address.postalCode",
};

/** Whether the patient has allergies: not asked yet, none known (said so), or these. */
export type AllergyAnswer = { kind: "unasked" } | { kind: "none" } | { kind: "some"; rows: AllergyRow[] };
export interface AllergyRow {
  allergen: string;
  reaction: string;
  severity: string;
}
const EMPTY_ROW: AllergyRow = { allergen: "", reaction: "", severity: "" };

/** The answer as the API takes it: "No known allergies" is an empty list, not a missing one. */
export function allergiesOf(answer: AllergyAnswer, noted: string): Allergy[] | undefined {
  if (answer.kind === "unasked") return undefined;
  if (answer.kind === "none") return [];
  return answer.rows.map((r) => ({
    allergen: r.allergen.trim(),
    reaction: r.reaction.trim(),
    severity: r.severity,
    noted,
  }));
}

export function toNewPatient(form: Form, allergies?: Allergy[]): NewPatient {
  const t = (s: string) => s.trim();
  const address =
    t(form.line1) || t(form.city) || t(form.state) || t(form.postalCode)
      ? { line1: t(form.line1), city: t(form.city), state: t(form.state), postalCode: t(form.postalCode) }
      : undefined;
  return {
    firstName: t(form.firstName),
    lastName: t(form.lastName),
    dateOfBirth: t(form.dateOfBirth),
    gender: form.gender,
    contactInfo: {
      ...(t(form.phone) ? { phone: t(form.phone) } : {}),
      ...(t(form.email) ? { email: t(form.email) } : {}),
      ...(address ? { address } : {}),
    },
    ...(allergies !== undefined ? { allergies } : {}),
  };
}

export function RegisterPatient({ onOpen }: { onOpen: (patientId: string) => void }) {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const [form, setForm] = useState<Form>(EMPTY);
  const [touched, setTouched] = useState<Set<keyof Form>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const [confirmedNew, setConfirmedNew] = useState(false);
  const [allergyAnswer, setAllergyAnswer] = useState<AllergyAnswer>({ kind: "unasked" });
  const [noted] = useState(() => new Date().toISOString());
  const duplicatesRef = useRef<HTMLElement>(null);
  const formRef = useRef<HTMLFormElement>(null);
  const allergyRef = useRef<HTMLInputElement>(null);
  const patient = useDeferredValue(toNewPatient(form, allergiesOf(allergyAnswer, noted)));

  const check = useQuery({
    queryKey: ["check_new_patient", patient],
    queryFn: () => backend.invoke("check_new_patient", { patient }),
    enabled: touched.size > 0,
    placeholderData: (previous) => previous,
  });
  const save = useMutation({
    mutationFn: (p: NewPatient) => backend.invoke("register_patient", { patient: p }),
    onSuccess: (write) => {
      void queryClient.invalidateQueries({ queryKey: ["search_patients"] });
      onOpen(write.patientId);
    },
  });

  const problems = check.data?.problems ?? [];
  const saveError = save.error ? BackendError.from(save.error) : null;
  const problemOf = (field: keyof Form): string | undefined => {
    if (!submitted && !touched.has(field)) return undefined;
    const fromSave = saveError?.details?.find((d) => d.field === PATHS[field])?.issue;
    return fromSave ?? problems.find((d) => d.field === PATHS[field])?.issue;
  };
  const duplicates = check.data?.duplicates ?? [];

  const set = (field: keyof Form) => (value: string) => {
    setForm((f) => ({ ...f, [field]: value }));
    setTouched((t) => (t.has(field) ? t : new Set(t).add(field)));
    setConfirmedNew(false);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (allergyAnswer.kind === "unasked") {
      allergyRef.current?.focus();
      return;
    }
    const current = toNewPatient(form, allergiesOf(allergyAnswer, noted));
    const fresh = await queryClient.fetchQuery({
      queryKey: ["check_new_patient", current],
      queryFn: () => backend.invoke("check_new_patient", { patient: current }),
    });
    if (fresh.problems.length > 0) {
      // After React has marked the fields the problems belong to.
      setTimeout(() => formRef.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus(), 0);
      return;
    }
    if (fresh.duplicates.length > 0 && !confirmedNew) {
      duplicatesRef.current?.focus();
      return;
    }
    save.mutate(current);
  };

  return (
    <section className="register" aria-labelledby="register-title">
      <h1 id="register-title">Register a new patient</h1>
      <div className="register-layout">
        <form ref={formRef} onSubmit={(e) => void submit(e)} noValidate className="register-form">
          <fieldset>
            <legend>Patient</legend>
            <div className="field-row">
              <Field label="First name" required value={form.firstName} onChange={set("firstName")} problem={problemOf("firstName")} autoFocus />
              <Field label="Last name" required value={form.lastName} onChange={set("lastName")} problem={problemOf("lastName")} />
            </div>
            <div className="field-row">
              <Field label="Date of birth" required type="date" value={form.dateOfBirth} onChange={set("dateOfBirth")} problem={problemOf("dateOfBirth")} />
              <SelectField label="Gender" required value={form.gender} onChange={set("gender")} problem={problemOf("gender")} />
            </div>
          </fieldset>
          <fieldset>
            <legend>Contact</legend>
            <div className="field-row">
              <Field label="Phone" type="tel" value={form.phone} onChange={set("phone")} problem={problemOf("phone")} />
              <Field label="Email" type="email" value={form.email} onChange={set("email")} problem={problemOf("email")} />
            </div>
            <Field label="Address" value={form.line1} onChange={set("line1")} problem={problemOf("line1")} />
            <div className="field-row field-row-3">
              <Field label="City" value={form.city} onChange={set("city")} problem={problemOf("city")} />
              <Field label="State" value={form.state} onChange={set("state")} problem={problemOf("state")} />
              <Field label="Postal code" value={form.postalCode} onChange={set("postalCode")} problem={problemOf("postalCode")} />
            </div>
          </fieldset>
          <Allergies
            answer={allergyAnswer}
            onChange={(answer) => {
              setAllergyAnswer(answer);
              setTouched((t) => new Set(t).add("firstName"));
            }}
            firstRef={allergyRef}
            unanswered={submitted && allergyAnswer.kind === "unasked"}
            problemOf={(path) =>
              submitted || allergyAnswer.kind === "some"
                ? (saveError?.details?.find((d) => d.field === path)?.issue ??
                  problems.find((d) => d.field === path)?.issue)
                : undefined
            }
          />
          {saveError && !saveError.details && (
            <p className="error" role="alert">
              {saveError.message}
            </p>
          )}
          <div className="form-actions">
            <button type="submit" disabled={save.isPending}>
              {save.isPending ? "Saving…" : duplicates.length > 0 && confirmedNew ? "Register anyway" : "Register patient"}
            </button>
            <span className="hint">Saved on this desk at once; sent to the server when it can be reached.</span>
          </div>
        </form>
        {duplicates.length > 0 && (
          <Duplicates
            panelRef={duplicatesRef}
            duplicates={duplicates}
            confirmed={confirmedNew}
            onOpen={onOpen}
            onConfirm={() => setConfirmedNew(true)}
          />
        )}
      </div>
    </section>
  );
}

function Allergies({
  answer,
  onChange,
  firstRef,
  unanswered,
  problemOf,
}: {
  answer: AllergyAnswer;
  onChange: (answer: AllergyAnswer) => void;
  firstRef: React.Ref<HTMLInputElement>;
  unanswered: boolean;
  problemOf: (path: string) => string | undefined;
}) {
  const name = useId();
  const problemId = useId();
  const rows = answer.kind === "some" ? answer.rows : [];
  const setRow = (i: number, row: Partial<AllergyRow>) =>
    onChange({ kind: "some", rows: rows.map((r, j) => (j === i ? { ...r, ...row } : r)) });
  return (
    <fieldset className="allergies" aria-describedby={unanswered ? problemId : undefined}>
      <legend>
        Allergies<span aria-hidden="true"> *</span>
      </legend>
      <div className="choice-row" role="radiogroup" aria-label="Allergies" aria-required="true">
        <label className="choice">
          <input
            ref={firstRef}
            type="radio"
            name={name}
            checked={answer.kind === "none"}
            onChange={() => onChange({ kind: "none" })}
            aria-invalid={unanswered || undefined}
          />
          No known allergies
        </label>
        <label className="choice">
          <input
            type="radio"
            name={name}
            checked={answer.kind === "some"}
            onChange={() => onChange({ kind: "some", rows: rows.length > 0 ? rows : [EMPTY_ROW] })}
          />
          Has allergies
        </label>
      </div>
      {unanswered && (
        <span id={problemId} className="field-problem" role="alert">
          Ask the patient about allergies: choose “No known allergies” or list them.
        </span>
      )}
      {rows.map((row, i) => (
        <div className="field-row allergy-row" key={i} role="group" aria-label={`Allergy ${i + 1}`}>
          <AllergyInput
            label="Allergen"
            value={row.allergen}
            onChange={(v) => setRow(i, { allergen: v })}
            problem={problemOf(`allergies[${i}].allergen`)}
          />
          <AllergyInput label="Reaction" value={row.reaction} onChange={(v) => setRow(i, { reaction: v })} />
          <div className="field">
            <label htmlFor={`${name}-severity-${i}`}>Severity</label>
            <select
              id={`${name}-severity-${i}`}
              value={row.severity}
              onChange={(e) => setRow(i, { severity: e.target.value })}
              aria-invalid={problemOf(`allergies[${i}].severity`) ? true : undefined}
            >
              <option value="">Choose…</option>
              <option value="Mild">Mild</option>
              <option value="Moderate">Moderate</option>
              <option value="Severe">Severe</option>
            </select>
            {problemOf(`allergies[${i}].severity`) && (
              <span className="field-problem">{problemOf(`allergies[${i}].severity`)}</span>
            )}
          </div>
          <button
            type="button"
            className="secondary remove-allergy"
            aria-label={`Remove allergy ${i + 1}`}
            onClick={() => {
              const left = rows.filter((_, j) => j !== i);
              onChange(left.length > 0 ? { kind: "some", rows: left } : { kind: "unasked" });
            }}
          >
            Remove
          </button>
        </div>
      ))}
      {answer.kind === "some" && (
        <button type="button" className="secondary" onClick={() => onChange({ kind: "some", rows: [...rows, EMPTY_ROW] })}>
          Add another allergy
        </button>
      )}
    </fieldset>
  );
}

function AllergyInput({
  label,
  value,
  onChange,
  problem,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  problem?: string | undefined;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={problem ? true : undefined}
        aria-describedby={problem ? `${id}-problem` : undefined}
      />
      {problem && (
        <span id={`${id}-problem`} className="field-problem">
          {problem}
        </span>
      )}
    </div>
  );
}

function Duplicates({
  panelRef,
  duplicates,
  confirmed,
  onOpen,
  onConfirm,
}: {
  panelRef: React.Ref<HTMLElement>;
  duplicates: DuplicateCandidate[];
  confirmed: boolean;
  onOpen: (id: string) => void;
  onConfirm: () => void;
}) {
  return (
    <aside ref={panelRef} tabIndex={-1} className="duplicates" aria-labelledby="duplicates-title" role="region">
      <h2 id="duplicates-title">Already registered?</h2>
      <p>Before saving, check that this is not one of these patients:</p>
      <ul>
        {duplicates.map((d) => (
          <li key={d.patient.id} className="duplicate">
            <div>
              <strong>{fullName(d.patient)}</strong> · {formatDate(d.patient.dateOfBirth)} · {d.patient.mrn}
            </div>
            <div className="hint">{describeReasons(d.reasons)}</div>
            <button type="button" className="secondary" onClick={() => onOpen(d.patient.id)}>
              Open {fullName(d.patient)}'s chart
            </button>
          </li>
        ))}
      </ul>
      {confirmed ? (
        <p role="status">Marked as a new patient: press “Register anyway” to save.</p>
      ) : (
        <button type="button" className="secondary" onClick={onConfirm}>
          None of these: it is a new patient
        </button>
      )}
    </aside>
  );
}

export function Field({
  label,
  value,
  onChange,
  problem,
  type = "text",
  required = false,
  autoFocus = false,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  problem: string | undefined;
  type?: string;
  required?: boolean;
  autoFocus?: boolean;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>
        {label}
        {required && <span aria-hidden="true"> *</span>}
      </label>
      <input
        id={id}
        type={type}
        value={value}
        required={required}
        autoFocus={autoFocus}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={problem ? true : undefined}
        aria-describedby={problem ? `${id}-problem` : undefined}
      />
      {problem && (
        <span id={`${id}-problem`} className="field-problem">
          {problem}
        </span>
      )}
    </div>
  );
}

export function SelectField({
  label,
  value,
  onChange,
  problem,
  required,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  problem: string | undefined;
  required?: boolean;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>
        {label}
        {required && <span aria-hidden="true"> *</span>}
      </label>
      <select
        id={id}
        value={value}
        required={required}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={problem ? true : undefined}
        aria-describedby={problem ? `${id}-problem` : undefined}
      >
        <option value="">Choose…</option>
        <option value="F">Female</option>
        <option value="M">Male</option>
        <option value="O">Other</option>
        <option value="U">Unknown</option>
      </select>
      {problem && (
        <span id={`${id}-problem`} className="field-problem">
          {problem}
        </span>
      )}
    </div>
  );
}
