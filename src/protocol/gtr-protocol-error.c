#include "gtr-protocol.h"

G_DEFINE_QUARK (gtr-protocol-error-quark, gtr_protocol_error)

const char *
gtr_protocol_error_code_name (GtrProtocolError code)
{
  switch (code) {
    case GTR_PROTOCOL_ERROR_NOT_JSON: return "not-json";
    case GTR_PROTOCOL_ERROR_NOT_OBJECT: return "not-object";
    case GTR_PROTOCOL_ERROR_MISSING_FIELD: return "missing-field";
    case GTR_PROTOCOL_ERROR_BAD_TYPE: return "bad-type";
    case GTR_PROTOCOL_ERROR_BAD_VALUE: return "bad-value";
    case GTR_PROTOCOL_ERROR_BAD_BASE64: return "bad-base64";
    case GTR_PROTOCOL_ERROR_UNKNOWN_EVENT: return "unknown-event";
    case GTR_PROTOCOL_ERROR_OVERSIZE: return "oversize";
    case GTR_PROTOCOL_ERROR_UNKNOWN_FIELD: return "unknown-field";
  }
  return "unknown-error";
}
