//! Español.

use super::Texts;

pub(super) const TEXTS: Texts = Texts {
    settings_link: "Configuración de cookies",
    origin_title: "El sitio no está disponible en este momento",
    origin_down: "No hemos podido contactar con nuestro servidor web. Inténtalo de nuevo en unos instantes.",
    origin_timeout: "Nuestro servidor web está tardando demasiado en responder. Inténtalo de nuevo en unos instantes.",
    try_again: "Reintentar",
    banner_label: "Consentimiento de cookies",
    banner_title: "Tus opciones de privacidad",
    banner_text: "Usamos las cookies que este sitio necesita para funcionar. Con tu permiso, usaríamos también cookies de análisis para entender cómo se usa el sitio y cookies de marketing para medir nuestros anuncios. Las instalan Google Analytics 4 y Google Tag Manager: los datos los recibe Google Ireland Ltd. y pueden transferirse a EE. UU. con cláusulas contractuales tipo. No se instala nada si no aceptas, y puedes cambiar o retirar tu decisión en cualquier momento desde \u{ab}Configuración de cookies\u{bb}, al pie de cada página.",
    cookie_policy: "Política de cookies",
    accept_all: "Aceptar todo",
    reject_all: "Rechazar todo",
    customise: "Personalizar",
    categories_legend: "Cookies por finalidad",
    save: "Guardar selección",
    necessary_title: "Necesarias",
    necessary_text: "La cookie sivo_consent recuerda tu decisión hasta 12 meses. Sin ella el sitio no puede respetar lo que elijas.",
    always_on: "Siempre activas",
    analytics_title: "Análisis",
    analytics_text: "Google Analytics 4 (cookies _ga y _ga_*, hasta 26 meses) cuenta visitas y páginas de forma agregada. Los datos van a Google Ireland Ltd.",
    marketing_title: "Marketing",
    marketing_text: "Las cookies de conversión de Google Ads (_gcl_*, 90 días) nos dicen qué anuncio te trajo. Los datos van a Google Ireland Ltd.",
    gpc_note: "Tu navegador ha enviado la señal Global Privacy Control: el marketing queda desactivado.",
    save_failed_title: "Tu decisión no se ha guardado",
    save_failed_text: "No hemos podido guardar el registro de tu consentimiento, así que no se ha activado nada. Inténtalo de nuevo en unos instantes.",
    back_to_page: "Volver a la página",
};
