//! Español.

use super::Texts;

pub(super) const TEXTS: Texts = Texts {
    settings_link: "Configuración de cookies",
    origin_title: "El sitio no está disponible en este momento",
    origin_down: "No hemos podido contactar con nuestro servidor web. Inténtalo de nuevo en unos instantes.",
    origin_timeout: "Nuestro servidor web está tardando demasiado en responder. Inténtalo de nuevo en unos instantes.",
    try_again: "Reintentar",
};
