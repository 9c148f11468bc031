// People named as a person reads them: "Bea Billing (Billing)" for someone who signed in on this
// desk, their user id otherwise (the desk has no staff directory).

export const ROLE_LABEL: Record<string, string> = {
  reception: "Reception",
  clinician: "Clinician",
  billing: "Billing",
  admin: "Administrator",
};

export interface KnownPerson {
  userId: string;
  name: string;
  role: string;
}

/** The person's name and role when known, else the id they are recorded under. */
export function personLabel(userId: string, person: KnownPerson | null | undefined): string {
  if (!person || !person.name) return userId;
  const role = ROLE_LABEL[person.role] ?? person.role;
  return role ? `${person.name} (${role})` : person.name;
}

/** A lookup of the people a screen was given, by user id. */
export function peopleById(people: readonly KnownPerson[] | undefined): Map<string, KnownPerson> {
  return new Map((people ?? []).map((p) => [p.userId, p]));
}
