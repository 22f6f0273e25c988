"""Research exports: aggregated, consent-gated, privacy-protected statistics about a study.

Modules, one idea each: ``access`` (researcher keys and their scopes), ``request`` (what an
export covers), ``periods`` (ISO weeks and months), ``scores`` (dimension scores from the
database's sums, by the engine's rules), ``statistics`` (the formulas), ``suppression``
(small-cell and complementary suppression), ``tables`` (the count tables an export publishes,
for suppression), ``dp`` (differentially private releases through OpenDP), ``budget`` (the
per-study epsilon ledger), ``audit`` (the export log), ``meta`` (what an export says about
itself), ``summary``, ``histograms`` and ``items`` (the exports), ``codebook`` (the data package
describing them) and ``csv_format`` (their CSV form). ``context`` holds what each needs.
"""
