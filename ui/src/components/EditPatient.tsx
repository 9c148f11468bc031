// Editing a patient's details: the form starts from the cached patient at the version shown; the
// desk sends only what changed, through the outbox (offline too), based on that version. When
// fresher data arrived meanwhile the desk refuses, and the form offers to start again from it.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useBackend } from "../backend/context";
import { BackendError } from "../backend/error";
import type { NewPatient } from "../bindings/NewPatient";
import type { Patient } from "../bindings/Patient";
import { fullName } from "../format";
import { chartKey } from "./Chart";
import { Field, SelectField } from "./RegisterPatient";

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

function formOf(p: Patient): Form {
  const a = p.contactInfo.address;
  return {
    firstName: p.firstName,
    lastName: p.lastName,
    dateOfBirth: p.dateOfBirth,
    gender: p.gender,
    phone: p.contactInfo.phone ?? "",
    email: p.contactInfo.email ?? "",
    line1: a?.line1 ?? "",
    city: a?.city ?? "",
    state: a?.state ?? "",
    postalCode: a?.postalCode ?? "",
  };
}

/** The whole patient as edited: untouched fields as they were, so the desk can tell what changed. */
export function edited(p: Patient, f: Form): NewPatient {
  const t = (s: string) => s.trim();
  const old = p.contactInfo.address;
  const address =
    t(f.line1) || t(f.city) || t(f.state) || t(f.postalCode)
      ? { ...(old ?? {}), line1: t(f.line1), city: t(f.city), state: t(f.state), postalCode: t(f.postalCode) }
      : undefined;
  return {
    firstName: t(f.firstName),
    lastName: t(f.lastName),
    dateOfBirth: t(f.dateOfBirth),
    gender: f.gender,
    status: p.status,
    contactInfo: {
      ...(t(f.phone) ? { phone: t(f.phone) } : {}),
      ...(t(f.email) ? { email: t(f.email) } : {}),
      ...(address ? { address } : {}),
    },
    ...(p.insurance ? { insurance: p.insurance } : {}),
    ...(p.emergencyContact ? { emergencyContact: p.emergencyContact } : {}),
    ...(p.preferredLanguage ? { preferredLanguage: p.preferredLanguage } : {}),
    ...(p.preferredPharmacy ? { preferredPharmacy: p.preferredPharmacy } : {}),
    ...(p.allergies ? { allergies: p.allergies } : {}),
  };
}

export function EditPatient({ patientId, onDone }: { patientId: string; onDone: (patientId: string) => void }) {
  const backend = useBackend();
  const chart = useQuery({
    queryKey: ["edit_form", patientId],
    // The form is not another opening of the chart: it is read without a new audit entry.
    queryFn: () => backend.invoke("refresh_chart", { patientId }),
    gcTime: 0,
  });
  if (!chart.data) {
    return chart.error ? (
      <p className="error" role="alert">
        {BackendError.from(chart.error).message}
      </p>
    ) : (
      <p role="status">Loading the patient…</p>
    );
  }
  return (
    <EditForm
      key={chart.data.patient.version}
      patient={chart.data.patient}
      onDone={onDone}
      onReload={() => void chart.refetch()}
    />
  );
}

function EditForm({
  patient,
  onDone,
  onReload,
}: {
  patient: Patient;
  onDone: (patientId: string) => void;
  onReload: () => void;
}) {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const [form, setForm] = useState<Form>(() => formOf(patient));
  const save = useMutation({
    mutationFn: () =>
      backend.invoke("edit_patient", {
        patientId: patient.id,
        patient: edited(patient, form),
        versionRead: Number(patient.version),
      }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: chartKey(patient.id) });
      void queryClient.invalidateQueries({ queryKey: ["search_patients"] });
      onDone(patient.id);
    },
  });
  const error = save.error ? BackendError.from(save.error) : null;
  const problemOf = (field: keyof Form) => error?.details?.find((d) => d.field === PATHS[field])?.issue;
  const set = (field: keyof Form) => (value: string) => setForm((f) => ({ ...f, [field]: value }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  const stale = error?.code === "refused" && error.message.includes("changed while the form was open");

  return (
    <section className="register" aria-labelledby="edit-title">
      <h1 id="edit-title">Edit {fullName(patient)}</h1>
      <form onSubmit={submit} noValidate className="register-form">
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
        {error && !error.details && (
          <p className="error" role="alert">
            {error.message}
            {stale && (
              <>
                {" "}
                <button type="button" className="secondary" onClick={onReload}>
                  Start again from the current details
                </button>
              </>
            )}
          </p>
        )}
        <div className="form-actions">
          <button type="submit" disabled={save.isPending}>
            {save.isPending ? "Saving…" : "Save changes"}
          </button>
          <button type="button" className="secondary" onClick={() => onDone(patient.id)}>
            Cancel
          </button>
          <span className="hint">Only what you changed is sent; saved on this desk at once.</span>
        </div>
      </form>
    </section>
  );
}
