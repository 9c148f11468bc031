import type { Patient } from "../bindings/Patient";
import { formatDate } from "../format";

const GENDER: Record<string, string> = { M: "Male", F: "Female", O: "Other", U: "Unknown" };

export function Details({ patient: p }: { patient: Patient }) {
  const address = p.contactInfo.address;
  return (
    <dl className="facts details">
      <dt>Name</dt>
      <dd>
        {p.firstName} {p.lastName}
      </dd>
      <dt>Date of birth</dt>
      <dd>{formatDate(p.dateOfBirth)}</dd>
      <dt>Gender</dt>
      <dd>{GENDER[p.gender] ?? p.gender}</dd>
      <dt>Patient id</dt>
      <dd>{p.id}</dd>
      <dt>Phone</dt>
      <dd>{p.contactInfo.phone ?? "—"}</dd>
      <dt>Email</dt>
      <dd>{p.contactInfo.email ?? "—"}</dd>
      <dt>Address</dt>
      <dd>
        {address
          ? [address.line1, address.line2, `${address.city}, ${address.state} ${address.postalCode}`]
              .filter(Boolean)
              .join(", ")
          : "—"}
      </dd>
      <dt>Emergency contact</dt>
      <dd>
        {p.emergencyContact
          ? `${p.emergencyContact.name} (${p.emergencyContact.relationship}) · ${p.emergencyContact.phone}`
          : "—"}
      </dd>
      <dt>Preferred language</dt>
      <dd>{p.preferredLanguage ?? "—"}</dd>
      <dt>Pharmacy</dt>
      <dd>{p.preferredPharmacy ? `${p.preferredPharmacy.name} · ${p.preferredPharmacy.phone}` : "—"}</dd>
    </dl>
  );
}
