"""`stateaudit merge`: one inventory from the findings JSON of several repositories.

Each repository is scanned in its own CI job (`scan --format json -o findings.json`); merging their
reports gives an organisation one picture without one machine scanning everything. The merged JSON
keeps the findings contract and adds `repository` to each service and finding (and a `repositories`
list), so it can be merged again or compared with `stateaudit diff`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from . import __version__
from .compare import RISKS, ReportFileError, read_report
from .report.chart import Chart, findings_chart
from .templating import environment

NAMED = re.compile(r"^(?P<name>[^=/\\]+)=(?P<path>.+)$")
READINESS_ORDER = ("stateful", "needs-work", "ready")


@dataclass(frozen=True)
class RepositoryReport:
    name: str
    path: Path
    data: dict[str, Any]


def load_reports(arguments: list[str]) -> list[RepositoryReport]:
    """`NAME=PATH` or `PATH` arguments; a name defaults to the report's root folder, else the file's name."""
    loaded: list[RepositoryReport] = []
    for argument in arguments:
        named = NAMED.match(argument)
        path = Path(named.group("path") if named and not Path(argument).exists() else argument)
        data = read_report(path)
        name = named.group("name") if named and not Path(argument).exists() else _default_name(path, data)
        if any(r.name == name for r in loaded):
            raise ReportFileError(f"{path}: a second report named '{name}'; name each one as NAME=PATH")
        loaded.append(RepositoryReport(name, path, data))
    return loaded


def _default_name(path: Path, data: dict[str, Any]) -> str:
    root = str(data.get("root") or ".")
    if root not in (".", "") and not root.startswith(".."):
        return PurePosixPath(root).name or root
    return path.stem


def _counts(findings: list[dict[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(RISKS, 0)
    for f in findings:
        if not f.get("suppressed") and f.get("risk") in counts:
            counts[f["risk"]] += 1
    return counts


def merged_json(reports: list[RepositoryReport]) -> dict[str, Any]:
    """The findings contract over all repositories, with `repository` on each service and finding."""
    findings, services, errors, repositories = [], [], [], []
    totals = {"files_scanned": 0, "lines_scanned": 0, "parse_errors": 0, "duration_s": 0.0}
    for r in reports:
        summary = r.data.get("summary") or {}
        for key in totals:
            totals[key] += summary.get(key) or 0
        own = [dict(f, repository=f.get("repository") or r.name) for f in r.data["findings"] if isinstance(f, dict)]
        findings += own
        services += [dict(s, repository=s.get("repository") or r.name) for s in r.data.get("services") or []]
        errors += [dict(e, repository=e.get("repository") or r.name) for e in r.data.get("errors") or []]
        repositories.append({"name": r.name, "root": r.data.get("root", "."), "report": r.path.as_posix(),
                             "findings": sum(_counts(own).values()), "by_risk": _counts(own)})
    findings.sort(key=lambda f: (f["repository"], str(f.get("file", "")), int(f.get("line") or 0), str(f.get("rule", ""))))
    services.sort(key=lambda s: (s["repository"], str(s.get("name", ""))))
    by_risk = _counts(findings)
    return {
        "schema_version": 1,
        "tool": {"name": "stateaudit", "version": __version__},
        "root": "",
        "summary": {**totals, "duration_s": round(totals["duration_s"], 2), "findings": sum(by_risk.values()),
                    "by_risk": by_risk, "repositories": len(reports)},
        "repositories": repositories,
        "services": services,
        "findings": findings,
        "errors": errors,
    }


@dataclass(frozen=True)
class ServiceSection:
    name: str
    path: str
    language: str
    readiness: str
    anchor: str
    by_risk: dict[str, int]
    rows: tuple[dict[str, Any], ...]  # unsuppressed findings
    suppressed: int


@dataclass(frozen=True)
class RepositorySection:
    name: str
    root: str
    anchor: str
    by_risk: dict[str, int]
    total: int
    files_scanned: int
    services: tuple[ServiceSection, ...]
    readiness: dict[str, int]


@dataclass(frozen=True)
class OrgInventory:
    title: str
    tool_version: str
    repositories: tuple[RepositorySection, ...]
    by_risk: dict[str, int]
    total: int
    services: int
    chart: Chart


def _anchor(*parts: str) -> str:
    return "-".join(re.sub(r"[^A-Za-z0-9_.-]+", "-", p).strip("-") for p in parts)


def org_inventory(reports: list[RepositoryReport], title: str = "") -> OrgInventory:
    """The view model of the merged Markdown and HTML: a section per repository, a table per service."""
    data = merged_json(reports)
    sections = []
    for repo in data["repositories"]:
        own = [f for f in data["findings"] if f["repository"] == repo["name"]]
        report = next(r for r in reports if r.name == repo["name"])
        services = []
        for s in (x for x in data["services"] if x["repository"] == repo["name"]):
            mine = [f for f in own if f.get("service") == s.get("name")]
            services.append(ServiceSection(
                name=str(s.get("name")), path=str(s.get("path", "")), language=str(s.get("language", "")),
                readiness=str(s.get("readiness", "")), anchor=_anchor("svc", repo["name"], str(s.get("name"))),
                by_risk=_counts(mine), rows=tuple(f for f in mine if not f.get("suppressed")),
                suppressed=sum(1 for f in mine if f.get("suppressed"))))
        readiness = {k: sum(1 for s in services if s.readiness == k) for k in READINESS_ORDER}
        sections.append(RepositorySection(
            name=repo["name"], root=str(repo["root"]), anchor=_anchor("repo", repo["name"]),
            by_risk=repo["by_risk"], total=repo["findings"],
            files_scanned=int((report.data.get("summary") or {}).get("files_scanned") or 0),
            services=tuple(services), readiness=readiness))
    chart = findings_chart((f"{r.name} / {s.name}", s.anchor, s.by_risk) for r in sections for s in r.services)
    return OrgInventory(title or "Organisation", __version__, tuple(sections), data["summary"]["by_risk"],
                        data["summary"]["findings"], sum(len(r.services) for r in sections), chart)


def render_markdown(reports: list[RepositoryReport], title: str = "") -> str:
    return environment().get_template("merge.md.j2").render(org=org_inventory(reports, title))


def render_html(reports: list[RepositoryReport], title: str = "") -> str:
    return environment().get_template("merge.html.j2").render(org=org_inventory(reports, title))
