from django.contrib import admin

from .models import Thumbnail


@admin.register(Thumbnail)
class ThumbnailAdmin(admin.ModelAdmin):
    list_display = ["paper", "status", "width", "height", "attempts", "reason", "updated_at"]
    list_filter = ["status"]
    search_fields = ["paper__arxiv_id", "reason"]
    raw_id_fields = ["paper"]
    readonly_fields = ["rendered_at", "updated_at"]
