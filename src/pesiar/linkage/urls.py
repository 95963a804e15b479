from django.urls import path

from pesiar.linkage import views

app_name = "linkage"
urlpatterns = [
    path("review/", views.review_list, name="review"),
    path("review/<int:pk>/", views.review_item, name="review_item"),
    path("runs/", views.run_list, name="runs"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
]
