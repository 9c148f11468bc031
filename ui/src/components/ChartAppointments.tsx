import { useQuery } from "@tanstack/react-query";
import { useBackend } from "../backend/context";
import type { AppointmentStatus } from "../bindings/AppointmentStatus";
import { formatInZone } from "../format";
import { QueryState } from "./Loading";

const STATUS_LABEL: Record<AppointmentStatus, string> = {
  scheduled: "Scheduled",
  checked_in: "Checked in",
  in_room: "In room",
  completed: "Completed",
  cancelled: "Cancelled",
  no_show: "No-show",
};

export function Appointments({ patientId }: { patientId: string }) {
  const backend = useBackend();
  const list = useQuery({
    queryKey: ["patient_appointments", patientId],
    queryFn: () => backend.invoke("patient_appointments", { patientId }),
  });
  if (!list.data) return <QueryState pending={list.isPending} error={list.error} what="appointments" />;
  if (list.data.length === 0) return <p className="hint">No appointments.</p>;
  return (
    <table className="table">
      <caption className="visually-hidden">Appointments, newest first</caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Type</th>
          <th scope="col">Reason</th>
          <th scope="col">Where</th>
          <th scope="col">Status</th>
        </tr>
      </thead>
      <tbody>
        {list.data.map(({ appointment: a, timeZone }) => (
          <tr key={a.id}>
            <td>{formatInZone(a.startTime, timeZone)}</td>
            <td>{a.type}</td>
            <td>{a.reason ?? ""}</td>
            <td>{a.location.name}</td>
            <td>
              <span className={`appt-status appt-${a.status}`}>{STATUS_LABEL[a.status]}</span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
