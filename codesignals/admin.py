from django.contrib import admin

from .models import PaperSignals, Repository, StarCount


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    list_display = ["full_name", "status", "stars", "stars_gained", "checked_at", "error"]
    list_filter = ["status"]
    search_fields = ["full_name"]
    readonly_fields = ["etag", "last_modified", "checked_at"]


@admin.register(StarCount)
class StarCountAdmin(admin.ModelAdmin):
    list_display = ["repository", "day", "stars"]
    raw_id_fields = ["repository"]


@admin.register(PaperSignals)
class PaperSignalsAdmin(admin.ModelAdmin):
    list_display = ["paper", "repository", "models_count", "datasets_count", "spaces_count"]
    raw_id_fields = ["paper", "repository"]
    search_fields = ["paper__arxiv_id"]
