from django.urls import path

from . import views

urlpatterns = [
    path("", views.my_courses, name="my-courses"),
    path("courses/<int:pk>/", views.course_detail, name="course-detail"),
    path("courses/<int:pk>/publish/", views.course_publish, name="course-publish"),
    path("files/<int:pk>/", views.course_file, name="course-file"),
    path("certificates/<int:pk>/", views.certificate, name="course-certificate"),
    path("status/", views.completion, name="course-completion"),
]
