#!/usr/bin/env python3
"""Validates every FHIR R4 resource type a running Practice Studio server emits.

An independent R4 validator (PyPI fhir.resources 6.4.x, which models FHIR 4.0.1) parses each
resource and Bundle: structure, cardinality, data types, invariants it implements. What a schema
cannot see is checked explicitly here, with the R4 value sets copied from the specification
(not from the server's code): required elements and bound code values, links that work, the
download links of attachments, and the OperationOutcome errors.

Edge cases come from the demo data, found through the v1 API: a patient without an email, one
with two insurances, a deceased patient, a cancelled appointment.

Usage: validate.py BASE_URL TOKEN     (BASE_URL like http://127.0.0.1:8080)
Prints one line per failed check and closes with "N passed, N failed"; exits 1 on any failure.
"""

import base64
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

import fhir.resources
from fhir.resources import construct_fhir_element

if fhir.resources.__fhir_version__ != "4.0.1":
    sys.exit(f"fhir.resources models FHIR {fhir.resources.__fhir_version__}, not R4 4.0.1")

# R4 value sets (http://hl7.org/fhir/R4/valueset-*.html) of the required bindings we emit.
ADMINISTRATIVE_GENDER = {"male", "female", "other", "unknown"}
APPOINTMENT_STATUS = {"proposed", "pending", "booked", "arrived", "fulfilled", "cancelled",
                      "noshow", "entered-in-error", "checked-in", "waitlist"}
PARTICIPATION_STATUS = {"accepted", "declined", "tentative", "needs-action"}
PARTICIPANT_REQUIRED = {"required", "optional", "information-only"}
ALLERGY_CRITICALITY = {"low", "high", "unable-to-assess"}
REACTION_SEVERITY = {"mild", "moderate", "severe"}
ALLERGY_TYPE = {"allergy", "intolerance"}
ALLERGY_CLINICAL = ("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                    {"active", "inactive", "resolved"})
ALLERGY_VERIFICATION = ("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                        {"unconfirmed", "confirmed", "refuted", "entered-in-error"})
DOCUMENT_REFERENCE_STATUS = {"current", "superseded", "entered-in-error"}
COMPOSITION_STATUS = {"preliminary", "final", "amended", "entered-in-error"}
FINANCIAL_RESOURCE_STATUS = {"active", "cancelled", "draft", "entered-in-error"}
INVOICE_STATUS = {"draft", "issued", "balanced", "cancelled", "entered-in-error"}
PRICE_COMPONENT_TYPE = {"base", "surcharge", "deduction", "discount", "tax", "informational"}
CONTACT_POINT_SYSTEM = {"phone", "fax", "email", "pager", "url", "sms", "other"}
CONTACT_POINT_USE = {"home", "work", "temp", "old", "mobile"}
ADDRESS_USE = {"home", "work", "temp", "old", "billing"}
NAME_USE = {"usual", "official", "temp", "nickname", "anonymous", "old", "maiden"}
LOCATION_STATUS = {"active", "suspended", "inactive"}
ISSUE_SEVERITY = {"fatal", "error", "warning", "information"}
ISSUE_TYPE = {"invalid", "structure", "required", "value", "invariant", "security", "login",
              "unknown", "expired", "forbidden", "suppressed", "processing", "not-supported",
              "duplicate", "multiple-matches", "not-found", "deleted", "too-long",
              "code-invalid", "extension", "too-costly", "business-rule", "conflict",
              "transient", "lock-error", "no-store", "exception", "timeout", "incomplete",
              "throttled", "informational"}

TYPES = ["Patient", "Coverage", "Practitioner", "Location", "Appointment", "AllergyIntolerance",
         "DocumentReference", "Invoice"]


class Checker:
    def __init__(self, base, token):
        self.base = base.rstrip("/")
        self.fhir = self.base + "/fhir/r4"
        self.token = token
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {what}")
        return ok

    def get(self, url, headers=None, auth=True):
        request = urllib.request.Request(url, headers={"Accept": "application/fhir+json",
                                                       **(headers or {})})
        if auth:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def get_json(self, url, **kwargs):
        status, headers, body = self.get(url, **kwargs)
        return status, headers, json.loads(body) if body else None

    # --- the independent validator ---

    def validate(self, resource, where):
        """Parses with fhir.resources; True when the R4 model accepts it."""
        kind = resource.get("resourceType", "?") if isinstance(resource, dict) else "?"
        try:
            construct_fhir_element(kind, resource)
        except Exception as error:  # the model's ValidationError, or an unknown type
            text = str(error).replace("\n", " | ")[:600]
            return self.check(False, f"{where}: {kind} is not valid R4: {text}")
        return self.check(True, where)

    # --- explicit checks of what the model does not enforce ---

    def coded(self, concept, system, codes, where):
        codings = (concept or {}).get("coding", [])
        self.check(any(c.get("system") == system and c.get("code") in codes for c in codings),
                   f"{where}: a coding from {system} in {sorted(codes)}, got {codings}")

    def common(self, resource, where):
        self.check(bool(resource.get("id")), f"{where}: has an id")
        for telecom in resource.get("telecom", []):
            self.check(telecom.get("system") in CONTACT_POINT_SYSTEM, f"{where}: telecom.system")
            self.check(telecom.get("use", "home") in CONTACT_POINT_USE, f"{where}: telecom.use")
        for name in resource.get("name", []) if isinstance(resource.get("name"), list) else []:
            self.check(name.get("use", "usual") in NAME_USE, f"{where}: name.use")

    def check_patient(self, p, where):
        self.common(p, where)
        self.check(p.get("gender") in ADMINISTRATIVE_GENDER, f"{where}: gender {p.get('gender')!r}")
        mrns = [i for i in p.get("identifier", [])
                if i.get("type", {}).get("coding", [{}])[0].get("code") == "MR"]
        self.check(len(mrns) == 1 and mrns[0].get("system") and mrns[0].get("value"),
                   f"{where}: one MRN identifier with system and value")
        self.check(bool(p.get("name")) and p["name"][0].get("family") and p["name"][0].get("given"),
                   f"{where}: a family and a given name")
        self.check(isinstance(p.get("birthDate"), str), f"{where}: birthDate")
        self.check(isinstance(p.get("active"), bool), f"{where}: active")
        self.check(isinstance(p.get("deceasedBoolean"), bool), f"{where}: deceasedBoolean")
        for address in p.get("address", []):
            self.check(address.get("use", "home") in ADDRESS_USE, f"{where}: address.use")

    def check_coverage(self, c, where):
        self.common(c, where)
        self.check(c.get("status") in FINANCIAL_RESOURCE_STATUS, f"{where}: status {c.get('status')!r}")
        self.check(c.get("beneficiary", {}).get("reference", "").startswith("Patient/"),
                   f"{where}: beneficiary")
        self.check(len(c.get("payor", [])) >= 1, f"{where}: at least one payor")
        self.check(c.get("order") in (1, 2), f"{where}: order 1 or 2")
        for cls in c.get("class", []):
            self.check(bool(cls.get("value")) and bool(cls.get("type")), f"{where}: class type and value")

    def check_practitioner(self, p, where):
        self.common(p, where)
        npis = [i for i in p.get("identifier", []) if i.get("system") == "http://hl7.org/fhir/sid/us-npi"]
        self.check(len(npis) == 1 and len(npis[0].get("value", "")) == 10,
                   f"{where}: one 10-digit NPI identifier")

    def check_location(self, loc, where):
        self.common(loc, where)
        self.check(loc.get("status") in LOCATION_STATUS, f"{where}: status")
        self.check(bool(loc.get("name")), f"{where}: name")

    def check_appointment(self, a, where):
        self.common(a, where)
        status = a.get("status")
        self.check(status in APPOINTMENT_STATUS, f"{where}: status {status!r}")
        participants = a.get("participant", [])
        self.check(len(participants) >= 1, f"{where}: at least one participant")
        kinds = set()
        for participant in participants:
            self.check(participant.get("status") in PARTICIPATION_STATUS,
                       f"{where}: participant.status {participant.get('status')!r}")
            self.check(participant.get("required", "required") in PARTICIPANT_REQUIRED,
                       f"{where}: participant.required")
            reference = participant.get("actor", {}).get("reference", "")
            kinds.add(reference.split("/")[0])
        self.check({"Patient", "Practitioner", "Location"} <= kinds,
                   f"{where}: patient, practitioner and location participants, got {kinds}")
        # app-3: only proposed or cancelled appointments may lack start and end.
        if status not in ("proposed", "cancelled", "waitlist"):
            self.check("start" in a and "end" in a, f"{where}: start and end (app-3)")
        if "start" in a and "end" in a:
            self.check(a["start"] <= a["end"], f"{where}: start before end")

    def check_allergy(self, a, where):
        self.common(a, where)
        self.coded(a.get("clinicalStatus"), *ALLERGY_CLINICAL, f"{where}: clinicalStatus")
        self.coded(a.get("verificationStatus"), *ALLERGY_VERIFICATION, f"{where}: verificationStatus")
        self.check(a.get("criticality", "low") in ALLERGY_CRITICALITY, f"{where}: criticality")
        self.check(a.get("type", "allergy") in ALLERGY_TYPE, f"{where}: type")
        self.check(a.get("patient", {}).get("reference", "").startswith("Patient/"),
                   f"{where}: patient reference")
        for reaction in a.get("reaction", []):
            self.check(bool(reaction.get("manifestation")), f"{where}: reaction.manifestation")
            self.check(reaction.get("severity", "mild") in REACTION_SEVERITY,
                       f"{where}: reaction.severity {reaction.get('severity')!r}")

    def check_document(self, d, where, download=False):
        self.common(d, where)
        self.check(d.get("status") in DOCUMENT_REFERENCE_STATUS, f"{where}: status")
        self.check(d.get("docStatus", "final") in COMPOSITION_STATUS, f"{where}: docStatus")
        self.check(d.get("subject", {}).get("reference", "").startswith("Patient/"),
                   f"{where}: subject")
        contents = d.get("content", [])
        self.check(len(contents) >= 1, f"{where}: content")
        for content in contents:
            attachment = content.get("attachment", {})
            self.check("data" in attachment or "url" in attachment, f"{where}: data or url")
            if "data" in attachment:
                try:
                    text = base64.b64decode(attachment["data"], validate=True).decode("utf-8")
                    self.check("Assessment:" in text, f"{where}: the note's text")
                except ValueError:
                    self.check(False, f"{where}: data is base64 of UTF-8 text")
            if "url" in attachment and download:
                url = attachment["url"]
                self.check(url.startswith("http"), f"{where}: absolute attachment url")
                status, headers, body = self.get(url, headers={"Accept": "*/*"})
                self.check(status == 200, f"{where}: attachment download answers 200, got {status}")
                self.check(len(body) == attachment.get("size"),
                           f"{where}: attachment size {attachment.get('size')} is the bytes' {len(body)}")
                self.check(headers.get("Content-Type", headers.get("content-type", "")).startswith(
                    attachment.get("contentType", "?")), f"{where}: attachment contentType")

    def check_invoice(self, inv, where):
        self.common(inv, where)
        self.check(inv.get("status") in INVOICE_STATUS, f"{where}: status {inv.get('status')!r}")
        self.check(inv.get("subject", {}).get("reference", "").startswith("Patient/"),
                   f"{where}: subject")
        total = 0.0
        for item in inv.get("lineItem", []):
            self.check(bool(item.get("chargeItemCodeableConcept") or item.get("chargeItemReference")),
                       f"{where}: lineItem.chargeItem[x]")
            for component in item.get("priceComponent", []):
                self.check(component.get("type") in PRICE_COMPONENT_TYPE, f"{where}: priceComponent.type")
                total += component.get("amount", {}).get("value", 0)
        gross = inv.get("totalGross", {})
        self.check(gross.get("currency") == "USD", f"{where}: totalGross in USD")
        self.check(abs(gross.get("value", -1) - total) < 0.005,
                   f"{where}: totalGross {gross.get('value')} is the sum of the items {total:.2f}")

    CHECKS = {
        "Patient": "check_patient", "Coverage": "check_coverage",
        "Practitioner": "check_practitioner",
        "Location": "check_location", "Appointment": "check_appointment",
        "AllergyIntolerance": "check_allergy", "DocumentReference": "check_document",
        "Invoice": "check_invoice",
    }

    def resource(self, resource, where, **kwargs):
        if self.validate(resource, where):
            getattr(self, self.CHECKS[resource["resourceType"]])(resource, where, **kwargs)

    def outcome(self, status, body, expected_status, where):
        self.check(status == expected_status, f"{where}: HTTP {expected_status}, got {status}")
        if not self.check(isinstance(body, dict) and body.get("resourceType") == "OperationOutcome",
                          f"{where}: an OperationOutcome"):
            return
        self.validate(body, where)
        for issue in body.get("issue", []):
            self.check(issue.get("severity") in ISSUE_SEVERITY, f"{where}: issue.severity")
            self.check(issue.get("code") in ISSUE_TYPE, f"{where}: issue.code {issue.get('code')!r}")

    # --- the walk ---

    def search(self, kind, query="", pages=2):
        """Validates up to `pages` pages of a search, following next links; returns the resources."""
        url = f"{self.fhir}/{kind}?{query}"
        found = []
        for page in range(pages):
            status, _, bundle = self.get_json(url)
            where = f"{kind}?{query} page {page + 1}"
            if not self.check(status == 200, f"{where}: HTTP 200, got {status}"):
                return found
            self.validate(bundle, f"{where} Bundle")
            self.check(bundle.get("type") == "searchset", f"{where}: searchset")
            self.check(isinstance(bundle.get("total"), int), f"{where}: total")
            links = {link["relation"]: link["url"] for link in bundle.get("link", [])}
            self.check("self" in links, f"{where}: self link")
            for entry in bundle.get("entry", []):
                if entry.get("search", {}).get("mode") == "match":
                    resource = entry["resource"]
                    self.check(entry.get("fullUrl", "").endswith(f"/{kind}/{resource.get('id')}"),
                               f"{where}: fullUrl")
                    self.resource(resource, f"{kind}/{resource.get('id')}")
                    found.append(resource)
            if "next" not in links:
                break
            url = links["next"]
        return found

    def read(self, kind, id, **kwargs):
        status, _, resource = self.get_json(f"{self.fhir}/{kind}/{urllib.parse.quote(id)}")
        if self.check(status == 200, f"read {kind}/{id}: HTTP 200, got {status}"):
            self.resource(resource, f"read {kind}/{id}", **kwargs)
            return resource
        return None

    def v1(self, path):
        status, _, body = self.get_json(self.base + path, headers={"Accept": "application/json"})
        if not self.check(status == 200, f"v1 {path}: HTTP 200, got {status}"):
            return {}
        return body

    def validator_refuses_what_it_must(self):
        """The validator is live: it refuses resources that break R4 (else every check passes)."""
        broken = [
            ("Appointment", {"resourceType": "Appointment", "id": "x", "status": "booked"}),
            ("Patient", {"resourceType": "Patient", "id": "x", "shoeSize": 9}),
            ("Patient", {"resourceType": "Patient", "id": "x", "birthDate": "23/11/1980"}),
            ("DocumentReference", {"resourceType": "DocumentReference", "status": "current"}),
        ]
        for kind, resource in broken:
            try:
                construct_fhir_element(kind, resource)
                self.check(False, f"validator: accepted a broken {kind}: {resource}")
            except Exception:
                self.check(True, "validator refuses a broken resource")

    def run(self):
        self.validator_refuses_what_it_must()
        # The CapabilityStatement, and that it lists exactly what is served.
        status, _, statement = self.get_json(f"{self.fhir}/metadata", auth=False)
        self.check(status == 200, "metadata: HTTP 200 without a credential")
        # The official R4 JSON schema's fhirVersion enum stops at 4.0.0; fhir.resources 6.4
        # accepts 4.0.1, the R4 technical correction this server implements.
        self.validate(statement, "metadata CapabilityStatement")
        self.check(statement.get("fhirVersion") == "4.0.1", "metadata: fhirVersion 4.0.1")
        resources = statement.get("rest", [{}])[0].get("resource", [])
        self.check(sorted(r["type"] for r in resources) == sorted(TYPES),
                   f"metadata: lists exactly {TYPES}")
        for r in resources:
            interactions = {i["code"] for i in r.get("interaction", [])}
            self.check(interactions == {"read", "search-type"}, f"metadata {r['type']}: read, search-type")
            for param in r.get("searchParam", []):
                # A listed parameter is known even under strict handling (empty values match all).
                status, _, body = self.get_json(
                    f"{self.fhir}/{r['type']}?{param['name']}=&_count=1",
                    headers={"Prefer": "handling=strict"})
                self.check(status == 200,
                           f"metadata {r['type']}.{param['name']}: accepted under handling=strict, got {status} {body}")

        # Every type, two pages of each, every resource validated.
        found = {kind: self.search(kind, "_count=50") for kind in TYPES}
        for kind, items in found.items():
            self.check(len(items) > 0, f"{kind}: the demo has some")
            if items:
                self.read(kind, items[0]["id"])

        # Documents: the attachments' links download the described bytes.
        with_attachment = self.search("DocumentReference", "type=http://loinc.org|11502-2&_count=3", pages=1)
        self.check(len(with_attachment) > 0, "DocumentReference: lab reports exist")
        for document in with_attachment:
            self.check_document(document, f"DocumentReference/{document['id']} download", download=True)

        # Edge cases, found through v1.
        patients = self.v1("/api/v1/patients?expand=full&limit=100").get("patients", [])
        no_email = [p for p in patients if not p.get("contactInfo", {}).get("email")]
        two_insurances = [p for p in patients if (p.get("insurance") or {}).get("secondary")]
        deceased = self.v1("/api/v1/patients?status=deceased&limit=5").get("patients", [])
        self.check(bool(no_email), "edge: a patient without an email exists")
        self.check(bool(two_insurances), "edge: a patient with two insurances exists")
        self.check(bool(deceased), "edge: a deceased patient exists")
        for p in no_email[:3]:
            fhir = self.read("Patient", p["id"])
            if fhir:
                systems = [t["system"] for t in fhir.get("telecom", [])]
                self.check("email" not in systems, f"edge no email {p['id']}: no email telecom")
        for p in two_insurances[:3]:
            self.read("Patient", p["id"])
            coverages = self.search("Coverage", f"beneficiary=Patient/{p['id']}", pages=1)
            self.check(sorted(c["order"] for c in coverages) == [1, 2],
                       f"edge two insurances {p['id']}: a primary and a secondary Coverage")
            members = {c.get("subscriberId") for c in coverages}
            expected = {p["insurance"]["primary"]["memberId"], p["insurance"]["secondary"]["memberId"]}
            self.check(members == expected, f"edge two insurances {p['id']}: member ids")
            for c in coverages:
                self.read("Coverage", c["id"])
        for p in deceased[:3]:
            fhir = self.read("Patient", p["id"])
            if fhir:
                self.check(fhir.get("deceasedBoolean") is True and fhir.get("active") is False,
                           f"edge deceased {p['id']}: deceasedBoolean true, active false")
        cancelled = self.search("Appointment", "status=cancelled&_count=5", pages=1)
        self.check(bool(cancelled), "edge: cancelled appointments exist")
        for a in cancelled:
            self.check(a["status"] == "cancelled", f"edge cancelled {a['id']}: status")
            self.check(all(p["status"] == "declined" for p in a["participant"]),
                       f"edge cancelled {a['id']}: participants declined")
        with_allergies = [p for p in patients if p.get("allergies")]
        for p in with_allergies[:3]:
            allergies = self.search("AllergyIntolerance", f"patient=Patient/{p['id']}", pages=1)
            self.check(len(allergies) == len(p["allergies"]),
                       f"edge allergies of {p['id']}: one per recorded allergy")
            for allergy in allergies:
                self.read("AllergyIntolerance", allergy["id"])

        # Searches with every kind of parameter.
        if patients:
            p = patients[0]
            self.search("Patient", f"family={urllib.parse.quote(p['lastName'][:3])}&gender=male,female", pages=1)
            self.search("Patient", f"birthdate=ge1950-01-01&birthdate=lt2000", pages=1)
            self.search("Appointment", f"patient={p['id']}&date=ge2020-01-01", pages=1)
            self.search("DocumentReference", f"patient=Patient/{p['id']}", pages=1)
            self.search("Invoice", f"subject=Patient/{p['id']}&status=issued,balanced", pages=1)

        # Errors are OperationOutcomes with the right status.
        status, _, body = self.get_json(f"{self.fhir}/Patient/PAT-00000")
        self.outcome(status, body, 404, "read of an unknown patient")
        status, _, body = self.get_json(f"{self.fhir}/Medication")
        self.outcome(status, body, 404, "an unsupported resource type")
        status, _, body = self.get_json(f"{self.fhir}/Patient?shoe-size=9",
                                        headers={"Prefer": "handling=strict"})
        self.outcome(status, body, 400, "an unknown parameter under handling=strict")
        status, _, body = self.get_json(f"{self.fhir}/Patient?birthdate=yesterday")
        self.outcome(status, body, 400, "an invalid date")
        status, _, body = self.get_json(f"{self.fhir}/Patient", auth=False)
        self.outcome(status, body, 401, "no credential")
        status, _, bundle = self.get_json(f"{self.fhir}/Patient?shoe-size=9&_count=1")
        self.check(status == 200, "lenient: an unknown parameter is ignored")
        if status == 200:
            self.validate(bundle, "lenient Bundle with an outcome entry")
            outcomes = [e for e in bundle.get("entry", []) if e.get("search", {}).get("mode") == "outcome"]
            self.check(len(outcomes) == 1, "lenient: the ignored parameter is reported")
            self.check(all("shoe-size" not in l["url"] for l in bundle["link"]),
                       "lenient: the self link leaves the ignored parameter out")

        print(f"fhir: {self.passed} passed, {self.failed} failed")
        return self.failed == 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(0 if Checker(sys.argv[1], sys.argv[2]).run() else 1)
