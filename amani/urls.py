"""URL configuration: the landing page, the probes, the metrics, the client API under /api/v1/ and the
operator console (Django admin)."""

from django.contrib import admin
from django.urls import include, path

from amani import views
from amani.metrics import metrics_view

urlpatterns = [
    path("", views.landing, name="landing"),
    path("livez", views.livez, name="livez"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", include("escrow.api.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "escrow.api.errors.not_found"
handler500 = "escrow.api.errors.server_error"
