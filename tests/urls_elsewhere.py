"""A URLconf of its own, for tests that swap ROOT_URLCONF."""

from django.http import HttpResponse
from django.urls import path

urlpatterns = [path("elsewhere/", lambda request: HttpResponse("elsewhere"), name="elsewhere")]
