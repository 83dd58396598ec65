from django.apps import AppConfig


class CagetteConfig(AppConfig):
    name = "cagette"
