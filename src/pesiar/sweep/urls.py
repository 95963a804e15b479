from django.urls import path

from pesiar.sweep import views

app_name = "sweep"

urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("item/<int:pk>/", views.item_detail, name="item"),
    path("export/", views.export, name="export"),
    path("budget/", views.budget, name="budget"),
]
