//! Request-body validation against the ZGW OpenAPI 3.0 documents in `specs/zgw/`.
//!
//! A JSON Schema validator cannot use an OpenAPI 3.0 schema unchanged: `nullable: true` (often
//! beside an `allOf` and no `type`) is not JSON Schema, and a `readOnly` property listed under
//! `required` is required in responses only. Both are translated here, once per document.

use jsonschema::Validator;
use serde_json::{json, Map, Value};

/// The Zaken API 1.5.1 document, as published.
pub const ZAKEN_YAML: &str = include_str!("../../../../specs/zgw/zaken-api-1.5.1.vng.openapi.yaml");

/// One parsed OpenAPI document, its schemas translated to JSON Schema.
pub struct Spec {
    components: Value,
}

/// One invalid field: the Zaken API's `invalidParams` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub name: String,
    pub code: String,
    pub reason: String,
}

impl Spec {
    pub fn parse(yaml: &str) -> Result<Spec, String> {
        let doc: Value = serde_yaml::from_str(yaml).map_err(|e| e.to_string())?;
        let schemas = doc
            .pointer("/components/schemas")
            .ok_or("the document has no components/schemas")?;
        Ok(Spec {
            components: json!({ "schemas": translate(schemas) }),
        })
    }

    /// A validator for a request body of `components/schemas/<name>`.
    pub fn validator(&self, name: &str) -> Result<Validator, String> {
        if self
            .components
            .pointer(&format!("/schemas/{name}"))
            .is_none()
        {
            return Err(format!("no schema {name}"));
        }
        let root = json!({
            "$ref": format!("#/components/schemas/{name}"),
            "components": self.components,
        });
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| e.to_string())
    }
}

/// Every error `validator` finds in `body`, named as the Zaken API names them (`zaak`,
/// `betrokkeneIdentificatie.naam`).
pub fn check(validator: &Validator, body: &Value) -> Vec<Invalid> {
    validator
        .iter_errors(body)
        .map(|e| {
            let mut path: Vec<String> = e
                .instance_path()
                .iter()
                .map(|s| match s {
                    jsonschema::paths::LocationSegment::Property(p) => p.to_string(),
                    jsonschema::paths::LocationSegment::Index(i) => i.to_string(),
                })
                .collect();
            let code = match e.kind() {
                jsonschema::error::ValidationErrorKind::Required { property } => {
                    if let Some(p) = property.as_str() {
                        path.push(p.to_owned());
                    }
                    "required"
                }
                jsonschema::error::ValidationErrorKind::MaxLength { .. } => "max_length",
                jsonschema::error::ValidationErrorKind::MinLength { .. } => "min_length",
                jsonschema::error::ValidationErrorKind::Enum { .. } => "invalid_choice",
                jsonschema::error::ValidationErrorKind::Format { .. } => "invalid",
                jsonschema::error::ValidationErrorKind::Type { .. } => "invalid",
                _ => "invalid",
            };
            let name = if path.is_empty() {
                "nonFieldErrors".to_owned()
            } else {
                path.join(".")
            };
            Invalid {
                name,
                code: code.to_owned(),
                reason: e.to_string(),
            }
        })
        .collect()
}

/// OpenAPI 3.0 -> JSON Schema, recursively: `nullable` becomes "or null", and `readOnly`
/// properties leave `required`.
fn translate(v: &Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(translate).collect()),
        Value::Object(obj) => {
            let mut out = Map::new();
            for (k, val) in obj {
                // Examples and the discriminator are documentation here; `example` values
                // would otherwise be walked as schemas.
                if matches!(k.as_str(), "example" | "discriminator" | "nullable") {
                    continue;
                }
                if k == "properties" {
                    if let Some(props) = val.as_object() {
                        let translated: Map<String, Value> = props
                            .iter()
                            .map(|(name, s)| (name.clone(), translate(s)))
                            .collect();
                        out.insert(k.clone(), Value::Object(translated));
                        continue;
                    }
                }
                out.insert(k.clone(), translate(val));
            }
            if let (Some(Value::Array(required)), Some(Value::Object(props))) =
                (obj.get("required"), obj.get("properties"))
            {
                let writable: Vec<Value> = required
                    .iter()
                    .filter(|r| {
                        let read_only = r
                            .as_str()
                            .and_then(|name| props.get(name))
                            .and_then(|p| p.get("readOnly"))
                            .and_then(Value::as_bool)
                            .unwrap_or(false);
                        !read_only
                    })
                    .cloned()
                    .collect();
                out.insert("required".into(), Value::Array(writable));
            }
            if obj.get("nullable").and_then(Value::as_bool) == Some(true) {
                // Works whatever the schema is (a type, an enum, an allOf of a $ref).
                json!({ "anyOf": [{ "type": "null" }, Value::Object(out)] })
            } else {
                Value::Object(out)
            }
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::LazyLock;

    static SPEC: LazyLock<Spec> = LazyLock::new(|| Spec::parse(ZAKEN_YAML).unwrap());

    fn zaak() -> Value {
        json!({
            "bronorganisatie": "002220647",
            "verantwoordelijkeOrganisatie": "002220647",
            "zaaktype": "http://127.0.0.1:1/catalogi/api/v1/zaaktypen/1",
            "startdatum": "2026-09-01",
            "omschrijving": "Webcare: stoeptegel",
        })
    }

    #[test]
    fn a_valid_zaak_passes_and_read_only_fields_are_not_required() {
        let v = SPEC.validator("Zaak").unwrap();
        assert_eq!(check(&v, &zaak()), vec![]);
    }

    #[test]
    fn a_missing_required_field_is_named() {
        let v = SPEC.validator("Zaak").unwrap();
        let mut body = zaak();
        body.as_object_mut().unwrap().remove("startdatum");
        let errs = check(&v, &body);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].name, "startdatum");
        assert_eq!(errs[0].code, "required");
    }

    #[test]
    fn limits_enums_formats_and_nulls_are_checked() {
        let v = SPEC.validator("Zaak").unwrap();
        let mut body = zaak();
        body["omschrijving"] = json!("x".repeat(81));
        body["vertrouwelijkheidaanduiding"] = json!("heel_geheim");
        body["startdatum"] = json!("1 september");
        let names: Vec<String> = check(&v, &body).into_iter().map(|e| e.name).collect();
        assert!(names.contains(&"omschrijving".to_owned()), "{names:?}");
        assert!(names.contains(&"vertrouwelijkheidaanduiding".to_owned()));
        assert!(names.contains(&"startdatum".to_owned()));
        // `einddatumGepland` is `nullable: true`.
        let mut body = zaak();
        body["einddatumGepland"] = Value::Null;
        assert_eq!(check(&v, &body), vec![]);
    }

    #[test]
    fn a_rol_needs_its_roltoelichting_and_its_betrokkene() {
        let v = SPEC.validator("organisatorische_eenheid_Rol").unwrap();
        let body = json!({
            "zaak": "http://oz/zaken/api/v1/zaken/1",
            "roltype": "http://oz/catalogi/api/v1/roltypen/1",
            "betrokkeneType": "organisatorische_eenheid",
            "roltoelichting": "via webcare",
            "betrokkeneIdentificatie": {"identificatie": "STB", "naam": "Stadsbeheer", "isGehuisvestIn": ""}
        });
        assert_eq!(check(&v, &body), vec![]);
        let mut missing = body.clone();
        missing.as_object_mut().unwrap().remove("roltoelichting");
        assert_eq!(check(&v, &missing)[0].name, "roltoelichting");
        let mut long = body;
        long["betrokkeneIdentificatie"]["naam"] = json!("n".repeat(51));
        assert_eq!(check(&v, &long)[0].name, "betrokkeneIdentificatie.naam");
    }

    #[test]
    fn a_status_needs_its_date() {
        let v = SPEC.validator("Status").unwrap();
        let body = json!({"zaak": "http://oz/z/1", "statustype": "http://oz/st/1"});
        let errs = check(&v, &body);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].name, "datumStatusGezet");
    }
}
