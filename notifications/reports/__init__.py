"""Formal reports (WeasyPrint): each is built from the incident's own data by one function in
``data``, laid out by one template under ``templates/reports/``, and rendered to HTML for the
browser preview or to PDF by ``render``. Nothing in a report is typed twice."""
