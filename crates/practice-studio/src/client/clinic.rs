//! The clinic's routes: locations, providers, the appointment-type catalogue and free slots.

use chrono::NaiveDate;
use reqwest::Method;

use super::patients::segment;
use super::{Call, Client};
use crate::model::{
    AppointmentTypeList, Location, LocationId, LocationList, Provider, ProviderId, ProviderList,
    SlotList,
};

/// The filters and page of `GET /api/v1/providers`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderQuery {
    specialty: Option<String>,
    location: Option<LocationId>,
    available: Option<bool>,
    limit: Option<u32>,
    offset: Option<u64>,
}

impl ProviderQuery {
    pub fn new() -> Self {
        Self::default()
    }

    /// Only providers of this specialty (case does not matter).
    pub fn specialty(mut self, specialty: impl Into<String>) -> Self {
        self.specialty = Some(specialty.into());
        self
    }

    /// Only providers working at this location.
    pub fn location(mut self, location: LocationId) -> Self {
        self.location = Some(location);
        self
    }

    /// Only providers with (or without) a free 30-minute slot in the next 7 days.
    pub fn available(mut self, available: bool) -> Self {
        self.available = Some(available);
        self
    }

    /// Providers per page, 1 to 100 (the server's default is 20).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(specialty) = &self.specialty {
            pairs.push(("specialty", specialty.clone()));
        }
        if let Some(location) = &self.location {
            pairs.push(("location_id", location.to_string()));
        }
        if let Some(available) = self.available {
            pairs.push(("available", available.to_string()));
        }
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        if let Some(offset) = self.offset {
            pairs.push(("offset", offset.to_string()));
        }
        pairs
    }
}

/// What `GET /api/v1/providers/{id}/slots` is asked for: days (inclusive, at most 62 apart),
/// appointment length, and the location (the provider's first when not given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotQuery {
    from: NaiveDate,
    to: NaiveDate,
    minutes: Option<u32>,
    location: Option<LocationId>,
}

impl SlotQuery {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Self {
        Self {
            from,
            to,
            minutes: None,
            location: None,
        }
    }

    /// Appointment length in minutes (the server's default is 30).
    pub fn minutes(mut self, minutes: u32) -> Self {
        self.minutes = Some(minutes);
        self
    }

    pub fn location(mut self, location: LocationId) -> Self {
        self.location = Some(location);
        self
    }

    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![
            ("date_from", self.from.to_string()),
            ("date_to", self.to.to_string()),
        ];
        if let Some(minutes) = self.minutes {
            pairs.push(("duration", minutes.to_string()));
        }
        if let Some(location) = &self.location {
            pairs.push(("location_id", location.to_string()));
        }
        pairs
    }
}

/// The clinic routes; from [`Client::clinic`].
#[derive(Debug, Clone)]
pub struct Clinic<'a> {
    pub(crate) client: &'a Client,
}

impl<'a> Clinic<'a> {
    /// `GET /api/v1/locations`: every location (the clinic has few), with its time zone.
    pub fn locations(&self) -> Call<'a, LocationList> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/locations",
            "/api/v1/locations".into(),
        )
        .query(vec![("limit", "100".into())])
    }

    /// `GET /api/v1/locations/{id}`.
    pub fn location(&self, id: &LocationId) -> Call<'a, Location> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/locations/{id}",
            format!("/api/v1/locations/{}", segment(id.as_str())),
        )
    }

    /// `GET /api/v1/appointment-types`: the catalogue of names, default lengths and colours.
    pub fn appointment_types(&self) -> Call<'a, AppointmentTypeList> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/appointment-types",
            "/api/v1/appointment-types".into(),
        )
    }

    /// `GET /api/v1/providers`: one page.
    pub fn providers(&self, query: &ProviderQuery) -> Call<'a, ProviderList> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/providers",
            "/api/v1/providers".into(),
        )
        .query(query.pairs())
    }

    /// `GET /api/v1/providers/{id}`: with hours at each location, breaks and exceptions.
    pub fn provider(&self, id: &ProviderId) -> Call<'a, Provider> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/providers/{id}",
            format!("/api/v1/providers/{}", segment(id.as_str())),
        )
    }

    /// `GET /api/v1/providers/{id}/slots`: free slots, computed by the server with the same
    /// `rules::slots` the desk can run offline.
    pub fn slots(&self, id: &ProviderId, query: &SlotQuery) -> Call<'a, SlotList> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/providers/{id}/slots",
            format!("/api/v1/providers/{}/slots", segment(id.as_str())),
        )
        .query(query.pairs())
    }

    /// `PUT /api/v1/providers/{id}` (`admin:clinic`): a merge patch of `active`, `phone`,
    /// `email`, `specialty`, `credentials`, `locationSchedules`, `scheduleExceptions`. Add
    /// `.if_match(provider.version)` to refuse it when someone changed the provider since.
    pub fn update_provider(
        &self,
        id: &ProviderId,
        patch: &impl serde::Serialize,
    ) -> Call<'a, Provider> {
        Call::new(
            self.client,
            Method::PUT,
            "/api/v1/providers/{id}",
            format!("/api/v1/providers/{}", segment(id.as_str())),
        )
        .json(patch)
    }

    /// `PUT /api/v1/locations/{id}` (`admin:clinic`): a merge patch of `name`, `phone`,
    /// `address`, `timeZone`.
    pub fn update_location(
        &self,
        id: &LocationId,
        patch: &impl serde::Serialize,
    ) -> Call<'a, Location> {
        Call::new(
            self.client,
            Method::PUT,
            "/api/v1/locations/{id}",
            format!("/api/v1/locations/{}", segment(id.as_str())),
        )
        .json(patch)
    }
}
