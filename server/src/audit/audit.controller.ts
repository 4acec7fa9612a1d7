/**
 * Route of the audit trail query (admins only).
 */
import { z } from 'zod';
import type { ApiRouter } from '../http/api-router.js';
import { pageSchema, paginationQuery } from '../http/pagination.js';
import { AUDIT_OUTCOME_VALUES } from './audit.types.js';
import type { AuditService } from './audit.service.js';

const instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' });

const listAuditQuery = z.object({
  patientId: z.uuid({ error: 'must be a UUID' }).optional().meta({ description: "Events about this patient's data." }),
  actorId: z.uuid({ error: 'must be a UUID' }).optional().meta({ description: 'Events by this user.' }),
  action: z
    .string()
    .regex(/^[a-z][a-z.-]{0,63}$/, { error: 'must be an action such as patient.read' })
    .optional(),
  outcome: z.enum(AUDIT_OUTCOME_VALUES, { error: `must be one of ${AUDIT_OUTCOME_VALUES.join(', ')}` }).optional(),
  from: instant.optional().meta({ description: 'Events at or after this instant.' }),
  to: instant.optional().meta({ description: 'Events before this instant.' }),
  ...paginationQuery,
});

const auditEventSchema = z
  .object({
    id: z.string(),
    occurredAt: z.string(),
    actorUserId: z.string().nullable(),
    actorUsername: z.string(),
    actorRole: z.string().nullable(),
    action: z.string(),
    resourceType: z.string(),
    resourceId: z.string().nullable(),
    patientId: z.string().nullable(),
    outcome: z.enum(AUDIT_OUTCOME_VALUES),
    clientIp: z.string().nullable(),
    requestId: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).nullable(),
  })
  .meta({ id: 'AuditEvent' });

/** Registers the audit route. */
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  register(api: ApiRouter): void {
    api.add({
      method: 'get',
      path: '/audit-events',
      operationId: 'listAuditEvents',
      summary: 'Query the audit trail',
      description: 'Newest first. Every read or change of patient data, every sign-in and every user change is here.',
      tag: 'audit',
      access: { roles: ['admin'] },
      auditDenied: { action: 'audit.list', resourceType: 'audit_event', patientId: ({ query }) => query?.patientId ?? null },
      query: listAuditQuery,
      responses: { 200: { description: 'A page of audit events.', schema: pageSchema(auditEventSchema).meta({ id: 'AuditEventPage' }) } },
      handler: async ({ query }) => ({
        body: await this.audit.list(
          {
            ...(query.patientId === undefined ? {} : { patientId: query.patientId }),
            ...(query.actorId === undefined ? {} : { actorUserId: query.actorId }),
            ...(query.action === undefined ? {} : { action: query.action }),
            ...(query.outcome === undefined ? {} : { outcome: query.outcome }),
            ...(query.from === undefined ? {} : { from: new Date(query.from) }),
            ...(query.to === undefined ? {} : { to: new Date(query.to) }),
          },
          query.limit,
          query.cursor,
        ),
      }),
    });
  }
}
