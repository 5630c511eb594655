from django.urls import path

from wellbeat.web.hub import views

app_name = "hub"

urlpatterns = [
    path("", views.home, name="home"),
]
