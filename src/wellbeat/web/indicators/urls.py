from django.urls import path

from wellbeat.web.indicators import views

app_name = "indicators"

urlpatterns = [
    path("", views.indicator_list, name="list"),
    path("new/", views.indicator_edit, name="new"),
    path("<int:pk>/", views.indicator_detail, name="detail"),
    path("<int:pk>/edit/", views.indicator_edit, name="edit"),
    path("<int:pk>/delete/", views.indicator_delete, name="delete"),
    path("<int:pk>/yaml/", views.indicator_yaml, name="yaml"),
    path("equity/", views.equity, name="equity"),
]
