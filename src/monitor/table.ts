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
