"""Real-time notifications for browser chat apps (`chatClient.startRealtimeNotifications()` of the JavaScript
SDK): the chat gateway's config route, the trouter allocation, the socket.io 0.9 session over a WebSocket, the
registrar, CORS, and the push of every chat event, fed by the model's changes (see acs-realtime-spec.md)."""

from .cors import DEFAULT_ORIGINS, CorsPolicy, check_origin_pattern
from .service import RealtimeService

__all__ = ["DEFAULT_ORIGINS", "CorsPolicy", "RealtimeService", "check_origin_pattern"]
