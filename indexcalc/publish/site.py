"""The site's index page: every index with its latest level and 1-day / YTD change."""

from __future__ import annotations

from indexcalc import analytics
from indexcalc.families.registry import FAMILIES
from indexcalc.publish.formatting import environment
from indexcalc.results import IndexResult



def site_rows(results: dict[str, IndexResult]) -> list[dict]:
    """One row per index, in catalogue order: ``id, name, kind, return_type, date, level,
    day_return`` (the last daily return), ``ytd`` (:func:`analytics.period_returns`) and
    ``holdings`` (a composite index: its contract holdings file is published)."""
    rows = []
    for index_id, result in results.items():
        levels = result.levels.sort("date")
        last = levels.row(-1, named=True)
        periods = analytics.period_returns(levels)
        ytd = periods.filter(periods.get_column("period") == "YTD").get_column("period_return")[0]
        rows.append(
            {
                "id": index_id,
                "name": result.spec.name,
                "kind": result.spec.kind,
                "return_type": result.spec.return_type,
                "date": last["date"],
                "level": last["level"],
                "day_return": last["daily_return"],
                "ytd": ytd,
                "holdings": bool(result.axis_roots),
            }
        )
    return rows


def render_site_index(results: dict[str, IndexResult], synthetic: bool = False) -> str:
    """``index.html``: the indexes grouped by kind (in the order of :data:`indexcalc.families.registry.FAMILIES`, catalogue order
    within a kind), linking factsheets, methodology and CSVs; ``synthetic``: computed on a
    synthetic market (the page then carries the banner)."""
    rows = [row for row in site_rows(results) if results[row["id"]].spec.grid is None]
    grids = grid_rows(results)
    present = list(dict.fromkeys(row["kind"] for row in rows))
    kinds = [kind for kind in FAMILIES.kinds if kind in present]
    groups = [
        {"kind": kind, "title": FAMILIES[kind].title,
         "rows": [row for row in rows if row["kind"] == kind]}
        for kind in kinds
    ]
    as_of = max((results[index_id].levels.get_column("date").max() for index_id in results), default=None)
    return environment().get_template("index.html.j2").render(
        rows=rows, groups=groups, grids=grids, variants=sum(grid["count"] for grid in grids), as_of=as_of, root="",
        synthetic_market=synthetic,
    )


def grid_rows(results: dict[str, IndexResult]) -> list[dict]:
    """One row per catalogue grid (:func:`indexcalc.publish.grids.grids_of`): ``id, title`` (its
    family's), ``count`` of variants, ``axes`` (name -> values, in the grid's order) and
    ``first``, the id of its first variant."""
    from indexcalc.publish.grids import grids_of

    rows = []
    for grid, ids in grids_of(results).items():
        specs = [results[index_id].spec for index_id in ids]
        axes = {axis: list(dict.fromkeys(dict(spec.grid.values)[axis] for spec in specs))
                for axis, _ in specs[0].grid.values}
        rows.append({"id": grid, "title": FAMILIES.of(specs[0]).title, "count": len(ids), "axes": axes,
                     "first": ids[0]})
    return rows
