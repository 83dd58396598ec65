from django.contrib import admin

from .models import Producer


@admin.register(Producer)
class ProducerAdmin(admin.ModelAdmin):
    list_display = ["name", "market", "active"]
    list_filter = ["market", "active"]
    search_fields = ["name__unaccent"]
