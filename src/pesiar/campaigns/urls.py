from django.urls import path

from pesiar.campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/villages/", views.village_change, name="village_change"),
    path("report/", views.report_page, name="report"),
    path("agents/", views.agent_list, name="agents"),
    path("agents/<str:username>/<str:month>/", views.agent_statement, name="statement"),
    path("flags/", views.flags, name="flags"),
    path("family/<int:item_id>/", views.family, name="family"),
    path("family/<int:item_id>/leaflet.pdf", views.family_pdf, name="family_pdf"),
    path("scripts/", views.scripts, name="scripts"),
]
