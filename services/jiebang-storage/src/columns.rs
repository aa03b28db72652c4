//! Column lists of reads that join tables: each table's list written once (`COLUMNS` of its
//! module) and read back from a row at an offset.

/// `a, b` as `t.a, t.b`.
pub(crate) fn qualified(table: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{table}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many columns `a, b, …` names: where the next table's columns start in a joined row.
pub(crate) fn count(columns: &str) -> usize {
    columns.split(',').count()
}
