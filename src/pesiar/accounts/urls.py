from django.urls import path

from pesiar.accounts import views

# The region tree keeps its own namespace: the pages are the tree, scoped to the viewer.
app_name = "regions"
urlpatterns = [
    path("", views.region_list, name="list"),
    path("<str:code>/", views.region_detail, name="detail"),
]
