from .report import DateTimeField, DateTimeWidget, IncidentEditForm, IncidentReportForm, NoteForm

__all__ = ["DateTimeField", "DateTimeWidget", "IncidentEditForm", "IncidentReportForm", "NoteForm"]
