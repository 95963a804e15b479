from django.urls import path

from pesiar.monev import views

app_name = "monev"

urlpatterns = [
    path("", views.home, name="home"),
    path("r/<str:code>/", views.region, name="region"),
    path("sections/", views.sections, name="sections_top"),
    path("r/<str:code>/sections/", views.sections, name="sections"),
    path("map/", views.region_map, name="map_top"),
    path("r/<str:code>/map/", views.region_map, name="map"),
    path("ranking/", views.ranking, name="ranking"),
    path("report.pdf", views.report_download, {"fmt": "pdf"}, name="report_pdf_top"),
    path("report.xlsx", views.report_download, {"fmt": "xlsx"}, name="report_xlsx_top"),
    path("r/<str:code>/report.pdf", views.report_download, {"fmt": "pdf"}, name="report_pdf"),
    path("r/<str:code>/report.xlsx", views.report_download, {"fmt": "xlsx"}, name="report_xlsx"),
]
