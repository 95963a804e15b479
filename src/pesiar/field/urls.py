from django.urls import path

from pesiar.field import odk_views, offline, views

app_name = "field"

urlpatterns = [
    path("", views.home, name="home"),
    path("item/<int:item_id>/visit/", views.visit_add, name="visit_add"),
    path("item/<int:item_id>/register/", views.register_family, name="register_family"),
    path("registrations/", views.registrations, name="registrations"),
    path("registrations/<int:pk>/", views.registration, name="registration"),
    path("batches/", views.batch_create, name="batch_create"),
    path("batches/<int:pk>/<str:fmt>/", views.batch_download, name="batch_download"),
    path("events/", views.events, name="events"),
    path("tokens/", views.tokens, name="tokens"),
    path("odk/", odk_views.odk_page, name="odk"),
    path("odk/<str:code>/", views.odk_form, name="odk_form"),
    path("app/", offline.app, name="app"),
    path("app/manifest.webmanifest", offline.manifest, name="manifest"),
    path("sw.js", offline.service_worker, name="service_worker"),
]
