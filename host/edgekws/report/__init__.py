"""Reports: bundles' report.json -> Markdown and self-contained HTML with plots; comparison of N models."""

from edgekws.report.render import load_reports, write_report

__all__ = ["load_reports", "write_report"]
