//! Typed FHIR R4 reads over `/fhir/r4`: Patient and Appointment by id and by search, with the
//! client's credential, rate-limit budget and retries.

use std::borrow::Cow;

use reqwest::Method;

use super::{Call, Client, Error};
use crate::fhir::{Appointment, Bundle, Patient, SearchSet};
use crate::model::Link;

const ACCEPT_FHIR: &str = "application/fhir+json";

/// FHIR search parameters, e.g. `FhirSearch::new().param("family", "smi").count(50)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FhirSearch {
    params: Vec<(String, String)>,
}

impl FhirSearch {
    pub fn new() -> Self {
        Self::default()
    }

    /// One parameter (repeat a name for a conjunction, e.g. two `date` bounds).
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// Page size (the server serves at most 100).
    pub fn count(self, count: u32) -> Self {
        self.param("_count", count.to_string())
    }

    fn query(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.params {
            query.append_pair(name, value);
        }
        query.finish()
    }
}

/// The FHIR API; from [`Client::fhir`].
#[derive(Debug, Clone)]
pub struct Fhir<'a> {
    pub(crate) client: &'a Client,
}

impl<'a> Fhir<'a> {
    fn get<T>(&self, route: &'static str, path: String) -> Call<'a, T> {
        let mut call = Call::new(self.client, Method::GET, Cow::Borrowed(route), path);
        call.request.accept = ACCEPT_FHIR;
        call
    }

    /// A resource by id; `None` when the server has no such resource (its 404 is an
    /// OperationOutcome, not the v1 envelope).
    async fn read<T: serde::de::DeserializeOwned + Send + 'a>(
        &self,
        route: &'static str,
        path: String,
    ) -> Result<Option<T>, Error> {
        match self.get::<T>(route, path).await {
            Ok(resource) => Ok(Some(resource)),
            Err(Error::Decode { status: 404, .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// `GET /fhir/r4/Patient/{id}`.
    pub async fn patient(&self, id: &str) -> Result<Option<Patient>, Error> {
        self.read("/fhir/r4/Patient/{id}", format!("/fhir/r4/Patient/{id}"))
            .await
    }

    /// `GET /fhir/r4/Appointment/{id}`.
    pub async fn appointment(&self, id: &str) -> Result<Option<Appointment>, Error> {
        self.read(
            "/fhir/r4/Appointment/{id}",
            format!("/fhir/r4/Appointment/{id}"),
        )
        .await
    }

    async fn search<T: serde::de::DeserializeOwned>(
        &self,
        kind: &'static str,
        route: &'static str,
        search: &FhirSearch,
    ) -> Result<SearchSet<T>, Error> {
        let bundle: Bundle = self
            .get(route, format!("/fhir/r4/{kind}?{}", search.query()))
            .await?;
        bundle.search_set(kind).map_err(|e| Error::Decode {
            status: 200,
            excerpt: e.to_string(),
        })
    }

    /// `GET /fhir/r4/Patient?…`: one page.
    pub async fn search_patients(&self, search: &FhirSearch) -> Result<SearchSet<Patient>, Error> {
        self.search("Patient", "/fhir/r4/Patient", search).await
    }

    /// `GET /fhir/r4/Appointment?…`: one page.
    pub async fn search_appointments(
        &self,
        search: &FhirSearch,
    ) -> Result<SearchSet<Appointment>, Error> {
        self.search("Appointment", "/fhir/r4/Appointment", search)
            .await
    }

    /// The page after `page` (from its `next` link, which must point into this API), or `None`
    /// after the last.
    pub async fn next_page<T: serde::de::DeserializeOwned>(
        &self,
        kind: &'static str,
        page: &SearchSet<T>,
    ) -> Result<Option<SearchSet<T>>, Error> {
        let Some(next) = &page.next else {
            return Ok(None);
        };
        let mut call = self.client.follow::<Bundle>(&Link { href: next.clone() });
        call.request.accept = ACCEPT_FHIR;
        let bundle = call.await?;
        bundle
            .search_set(kind)
            .map(Some)
            .map_err(|e| Error::Decode {
                status: 200,
                excerpt: e.to_string(),
            })
    }
}
