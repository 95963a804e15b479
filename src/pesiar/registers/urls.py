from django.urls import path

from pesiar.registers import views

app_name = "registers"
urlpatterns = [
    path("", views.snapshot_list, name="list"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("jobs/<int:pk>/start/", views.job_confirm, name="job-start"),
    path("snapshots/<int:pk>/", views.snapshot_detail, name="snapshot"),
    path("snapshots/<int:pk>/rejects.csv", views.snapshot_rejects, name="rejects"),
]
