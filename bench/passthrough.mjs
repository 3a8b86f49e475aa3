// Baseline 1: forwards the request and returns the origin's response. No consent layer can
// be faster than this.
export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.ORIGIN + url.pathname + url.search, request);
  },
};
