from django.urls import path, register_converter

# <arxiv:...> is registered by papers.urls, which config/urls.py imports before this.
from . import api, feeds, views


class ExportFormatConverter:
    regex = "bib|ris|csv"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(ExportFormatConverter, "exportformat")

app_name = "library"

collection = "collections/<text:username>/<slug:slug>"

urlpatterns = [
    path("papers/<arxiv:arxiv_id>/save/", views.save, name="save"),
    path("papers/<arxiv:arxiv_id>/read/", views.mark_read, name="read"),
    path("papers/<arxiv:arxiv_id>/collect/", views.add_to_collection, name="collect"),
    path("library/", views.library, name="library"),
    path("library/export.<exportformat:fmt>", views.export_library, name="export"),
    path("library/import/", views.import_papers, name="import"),
    path("library/feed/", views.feed_token, name="feed_token"),
    path("library/feed/<str:token>.atom", feeds.LibraryAtom(), name="feed"),
    path("collections/new/", views.new_collection, name="new_collection"),
    path("collections/<text:username>/", views.user_collections_page, name="collections"),
    path(f"{collection}/", views.collection, name="collection"),
    path(f"{collection}.atom", feeds.CollectionAtom(), name="collection_atom"),
    path(f"{collection}.<exportformat:fmt>", views.export_collection, name="collection_export"),
    path(f"{collection}/edit/", views.edit_collection, name="edit_collection"),
    path(f"{collection}/delete/", views.delete_collection, name="delete_collection"),
    path(f"{collection}/share/", views.share_link, name="share_link"),
    path(f"{collection}/reorder/", views.reorder, name="reorder"),
    path(f"{collection}/items/<int:pk>/move/", views.move_item, name="move_item"),
    path(f"{collection}/items/<int:pk>/remove/", views.remove_item, name="remove_item"),
    path(f"{collection}/items/<int:pk>/note/", views.edit_note, name="edit_note"),
    path("api/collections/<text:username>/<slug:slug>", api.collection, name="api_collection"),
]
