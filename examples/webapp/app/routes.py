from app.views import home, health

ROUTES = {
    "/": home.index,
    "/health": health.check,
}
