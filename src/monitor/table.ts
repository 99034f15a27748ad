/** Plain-text tables for terminal views: columns padded to their widest cell, two spaces apart. */

/** Right-aligns numbers, left-aligns text; `right[c]` says which columns are numeric. */
export function formatTable(rows: readonly (readonly string[])[], right: readonly boolean[] = []): string[] {
  if (rows.length === 0) return [];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? "").length)));
  return rows.map((row) =>
    row
      .map((cell, c) => (right[c] === true ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join("  ")
      .trimEnd(),
  );
}

/**
 * `formatTable` within `width` characters: columns are dropped in `dropOrder` (column indexes)
 * until every line fits — a narrow terminal loses detail, never wraps — and what still does not
 * fit is cut with "…".
 */
export function fitTable(
  rows: readonly (readonly string[])[],
  right: readonly boolean[],
  width: number,
  dropOrder: readonly number[] = [],
): string[] {
  let keep = rows[0]?.map((_, c) => c) ?? [];
  const render = (): string[] =>
    formatTable(
      rows.map((row) => keep.map((c) => row[c] ?? "")),
      keep.map((c) => right[c] === true),
    );
  let lines = render();
  for (const drop of dropOrder) {
    if (lines.every((l) => l.length <= width)) break;
    keep = keep.filter((c) => c !== drop);
    lines = render();
  }
  return lines.map((l) => (l.length <= width ? l : `${l.slice(0, width - 1)}…`));
}
