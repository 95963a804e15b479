from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from pesiar import views
from pesiar.field.api import api as field_api
from pesiar.field.offline import LogoutView
from pesiar.ops.health import healthz

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("regions/", include("pesiar.accounts.urls")),
    path("registers/", include("pesiar.registers.urls")),
    path("linkage/", include("pesiar.linkage.urls")),
    path("sweep/", include("pesiar.sweep.urls")),
    path("field/", include("pesiar.field.urls")),
    path("campaigns/", include("pesiar.campaigns.urls")),
    path("monev/", include("pesiar.monev.urls")),
    path("api/", field_api.urls),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
