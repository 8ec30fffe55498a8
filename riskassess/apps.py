from django.apps import AppConfig


class RiskAssessConfig(AppConfig):
    name = "riskassess"
    verbose_name = "Risk assessment"
