import * as z from 'zod';
import { RunIdSchema } from '#shared/core/run-files';
import type { SyncTable } from '#shared/core/sync-config';

/** A db-sync table's (target) name, as events carry it. */
export const TableNameSchema = z.string().regex(/^[a-z_][a-z0-9_]{0,63}$/);

/** The sync machine's first step: the run id (the execution's name unless given) and the tables. */
export const PlanInputSchema = z.object({
  action: z.literal('plan'),
  input: z
    .object({ runId: RunIdSchema.optional(), mode: z.enum(['full', 'incremental']).optional() })
    .loose(),
  executionName: RunIdSchema,
});
export type PlanInput = z.infer<typeof PlanInputSchema>;

export interface SyncPlan {
  runId: string;
  mode: 'full' | 'incremental';
  tables: string[];
}

/** Every configured table, one child execution each; incremental unless the input says full. */
export function planSync(input: PlanInput, tables: readonly SyncTable[]): SyncPlan {
  return {
    runId: input.input.runId ?? input.executionName,
    mode: input.input.mode ?? 'incremental',
    tables: tables.map((table) => table.name),
  };
}
