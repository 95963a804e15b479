from django.urls import path

from pesiar.field import views

app_name = "field"

urlpatterns = [
    path("item/<int:item_id>/visit/", views.visit_add, name="visit_add"),
    path("item/<int:item_id>/register/", views.register_family, name="register_family"),
    path("registrations/<int:pk>/", views.registration, name="registration"),
]
