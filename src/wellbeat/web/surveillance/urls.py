from django.urls import path

from wellbeat.web.surveillance import views

app_name = "surveillance"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("explorer/", views.explorer, name="explorer"),
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("alerts/<int:pk>/<str:action>/", views.alert_transition, name="transition"),
    path("subscriptions/", views.subscriptions, name="subscriptions"),
    path("subscriptions/<int:pk>/delete/", views.unsubscribe, name="unsubscribe"),
    path("thresholds/", views.thresholds, name="thresholds"),
    path("plotly.min.js", views.plotly_js, name="plotly_js"),
]
