-- A small OMOP CDM v5.4 database written by hand in a network's own shape (not by srnskit's
-- exporter): a vocabulary fragment with standard LOINC, RxNorm, SNOMED CT, UCUM and Gender
-- concepts beside non-standard source codes (an ICD-10-CM diagnosis, a hospital's local lab
-- code, an NDC product) mapped by concept_relationship 'Maps to', clinical drugs below their
-- ingredients in concept_ancestor, and four persons. Column names and types as the CDM v5.4
-- DDL (OHDSI/CommonDataModel inst/ddl/5.4); only the columns such a site fills are created.
-- Concept ids follow an Athena download's style; the importer reads meanings from
-- (vocabulary_id, concept_code) only, so an id is just a key within this file.

CREATE TABLE concept (
    concept_id INTEGER NOT NULL, concept_name VARCHAR NOT NULL, domain_id VARCHAR NOT NULL,
    vocabulary_id VARCHAR NOT NULL, concept_class_id VARCHAR NOT NULL, standard_concept VARCHAR,
    concept_code VARCHAR NOT NULL, valid_start_date DATE NOT NULL, valid_end_date DATE NOT NULL,
    invalid_reason VARCHAR);
INSERT INTO concept VALUES
    (8507, 'MALE', 'Gender', 'Gender', 'Gender', 'S', 'M', '1970-01-01', '2099-12-31', NULL),
    (8532, 'FEMALE', 'Gender', 'Gender', 'Gender', 'S', 'F', '1970-01-01', '2099-12-31', NULL),
    (8551, 'UNKNOWN', 'Gender', 'Gender', 'Gender', NULL, 'U', '1970-01-01', '2099-12-31', NULL),
    (32817, 'EHR', 'Type Concept', 'Type Concept', 'Type Concept', 'S', 'OMOP4976890', '1970-01-01', '2099-12-31', NULL),
    (9202, 'Outpatient Visit', 'Visit', 'Visit', 'Visit', 'S', 'OP', '1970-01-01', '2099-12-31', NULL),
    (3001582, 'Protein/Creatinine [Mass Ratio] in Urine', 'Measurement', 'LOINC', 'Lab Test', 'S', '2890-2', '1970-01-01', '2099-12-31', NULL),
    (3016723, 'Creatinine [Mass/volume] in Serum or Plasma', 'Measurement', 'LOINC', 'Lab Test', 'S', '2160-0', '1970-01-01', '2099-12-31', NULL),
    (3020564, 'Creatinine [Moles/volume] in Serum or Plasma', 'Measurement', 'LOINC', 'Lab Test', 'S', '14682-9', '1970-01-01', '2099-12-31', NULL),
    (3024561, 'Albumin [Mass/volume] in Serum or Plasma', 'Measurement', 'LOINC', 'Lab Test', 'S', '1751-7', '1970-01-01', '2099-12-31', NULL),
    (3004501, 'Glucose [Mass/volume] in Serum or Plasma', 'Measurement', 'LOINC', 'Lab Test', 'S', '2345-7', '1970-01-01', '2099-12-31', NULL),
    (3014051, 'Protein [Presence] in Urine by Test strip', 'Measurement', 'LOINC', 'Lab Test', 'S', '20454-5', '1970-01-01', '2099-12-31', NULL),
    (3010375, 'Cyclosporine [Mass/volume] in Blood', 'Measurement', 'LOINC', 'Lab Test', 'S', '3520-4', '1970-01-01', '2099-12-31', NULL),
    (3025315, 'Body weight', 'Measurement', 'LOINC', 'Clinical Observation', 'S', '29463-7', '1970-01-01', '2099-12-31', NULL),
    (2000001001, 'Creatinine, enzymatic (serum)', 'Measurement', 'NephroLab', 'Lab Test', NULL, 'CREA-E', '2015-01-01', '2099-12-31', NULL),
    (8840, 'milligram per deciliter', 'Unit', 'UCUM', 'Unit', 'S', 'mg/dL', '1970-01-01', '2099-12-31', NULL),
    (8749, 'micromole per liter', 'Unit', 'UCUM', 'Unit', 'S', 'umol/L', '1970-01-01', '2099-12-31', NULL),
    (8713, 'gram per deciliter', 'Unit', 'UCUM', 'Unit', 'S', 'g/dL', '1970-01-01', '2099-12-31', NULL),
    (8842, 'nanogram per milliliter', 'Unit', 'UCUM', 'Unit', 'S', 'ng/mL', '1970-01-01', '2099-12-31', NULL),
    (9529, 'kilogram', 'Unit', 'UCUM', 'Unit', 'S', 'kg', '1970-01-01', '2099-12-31', NULL),
    (8523, 'ratio', 'Unit', 'UCUM', 'Unit', 'S', '{ratio}', '1970-01-01', '2099-12-31', NULL),
    (9074, 'milligram per milligram', 'Unit', 'UCUM', 'Unit', 'S', 'mg/mg', '1970-01-01', '2099-12-31', NULL),
    (4171756, '<', 'Meas Value Operator', 'SNOMED', 'Qualifier Value', 'S', '276139006', '1970-01-01', '2099-12-31', NULL),
    (4123508, '++', 'Meas Value', 'SNOMED', 'Qualifier Value', 'S', '260348001', '1970-01-01', '2099-12-31', NULL),
    (195314, 'Nephrotic syndrome', 'Condition', 'SNOMED', 'Clinical Finding', 'S', '52254009', '1970-01-01', '2099-12-31', NULL),
    (45547453, 'Nephrotic syndrome with unspecified morphologic changes', 'Condition', 'ICD10CM', '4-char billing code', NULL, 'N04.9', '2007-01-01', '2099-12-31', NULL),
    (4128061, 'Focal segmental glomerulosclerosis', 'Condition', 'SNOMED', 'Clinical Finding', 'S', '236403004', '1970-01-01', '2099-12-31', NULL),
    (4100858, 'Hypertrichosis', 'Condition', 'SNOMED', 'Clinical Finding', 'S', '29966009', '1970-01-01', '2099-12-31', NULL),
    (320128, 'Essential hypertension', 'Condition', 'SNOMED', 'Clinical Finding', 'S', '59621000', '1970-01-01', '2099-12-31', NULL),
    (4306655, 'Death', 'Observation', 'SNOMED', 'Event', 'S', '419620001', '1970-01-01', '2099-12-31', NULL),
    (4054556, 'Tobacco smoking behavior', 'Observation', 'SNOMED', 'Observable Entity', 'S', '365980008', '1970-01-01', '2099-12-31', NULL),
    (2213572, 'Hemodialysis procedure with single evaluation by a physician or other qualified health care professional', 'Procedure', 'CPT4', 'CPT4', 'S', '90935', '1970-01-01', '2099-12-31', NULL),
    (4322471, 'Transplantation of kidney', 'Procedure', 'SNOMED', 'Procedure', 'S', '70536003', '1970-01-01', '2099-12-31', NULL),
    (1551099, 'prednisone', 'Drug', 'RxNorm', 'Ingredient', 'S', '8640', '1970-01-01', '2099-12-31', NULL),
    (19010482, 'cyclosporine', 'Drug', 'RxNorm', 'Ingredient', 'S', '3008', '1970-01-01', '2099-12-31', NULL),
    (19010484, 'cyclosporine 25 MG Oral Capsule', 'Drug', 'RxNorm', 'Clinical Drug', 'S', '835893', '1970-01-01', '2099-12-31', NULL),
    (950637, 'tacrolimus', 'Drug', 'RxNorm', 'Ingredient', 'S', '42316', '1970-01-01', '2099-12-31', NULL),
    (19034726, 'tacrolimus 1 MG Oral Capsule', 'Drug', 'RxNorm', 'Clinical Drug', 'S', '198378', '1970-01-01', '2099-12-31', NULL),
    (45141364, 'Prograf 1 MG Oral Capsule', 'Drug', 'NDC', '11-digit NDC', NULL, '00469061771', '1970-01-01', '2099-12-31', NULL),
    (1713332, 'amoxicillin', 'Drug', 'RxNorm', 'Ingredient', 'S', '723', '1970-01-01', '2099-12-31', NULL);

CREATE TABLE concept_relationship (
    concept_id_1 INTEGER NOT NULL, concept_id_2 INTEGER NOT NULL, relationship_id VARCHAR NOT NULL,
    valid_start_date DATE NOT NULL, valid_end_date DATE NOT NULL, invalid_reason VARCHAR);
INSERT INTO concept_relationship VALUES
    (45547453, 195314, 'Maps to', '2007-01-01', '2099-12-31', NULL),
    (2000001001, 3020564, 'Maps to', '2015-01-01', '2099-12-31', NULL),
    (45141364, 19034726, 'Maps to', '1970-01-01', '2099-12-31', NULL),
    -- a mapping withdrawn by the vocabulary: never followed
    (2000001001, 3016723, 'Maps to', '2015-01-01', '2016-01-01', 'D');

CREATE TABLE concept_ancestor (
    ancestor_concept_id INTEGER NOT NULL, descendant_concept_id INTEGER NOT NULL,
    min_levels_of_separation INTEGER NOT NULL, max_levels_of_separation INTEGER NOT NULL);
INSERT INTO concept_ancestor VALUES
    (19010482, 19010482, 0, 0), (19010482, 19010484, 1, 1), (19010484, 19010484, 0, 0),
    (950637, 950637, 0, 0), (950637, 19034726, 1, 1), (19034726, 19034726, 0, 0);

CREATE TABLE care_site (
    care_site_id INTEGER NOT NULL, care_site_name VARCHAR, place_of_service_concept_id INTEGER,
    location_id INTEGER, care_site_source_value VARCHAR, place_of_service_source_value VARCHAR);
INSERT INTO care_site VALUES (7, 'Hôpital Femme Mère Enfant, néphrologie', NULL, NULL, 'LYON', NULL);

CREATE TABLE person (
    person_id INTEGER NOT NULL, gender_concept_id INTEGER NOT NULL, year_of_birth INTEGER NOT NULL,
    month_of_birth INTEGER, day_of_birth INTEGER, birth_datetime TIMESTAMP,
    race_concept_id INTEGER NOT NULL, ethnicity_concept_id INTEGER NOT NULL,
    care_site_id INTEGER, person_source_value VARCHAR, gender_source_value VARCHAR);
INSERT INTO person VALUES
    (101, 8532, 2012, 5, 14, '2012-05-14 00:00:00', 0, 0, 7, 'NS-A', 'F'),
    (102, 8507, 2010, 11, 3, NULL, 0, 0, NULL, NULL, 'M'),
    (103, 8532, 2011, 1, 9, '2011-01-09 00:00:00', 0, 0, 7, 'NS-C', 'F'),
    (104, 8551, 2013, 6, 1, '2013-06-01 00:00:00', 0, 0, 7, 'NS-D', 'U');

CREATE TABLE observation_period (
    observation_period_id INTEGER NOT NULL, person_id INTEGER NOT NULL,
    observation_period_start_date DATE NOT NULL, observation_period_end_date DATE NOT NULL,
    period_type_concept_id INTEGER NOT NULL);
INSERT INTO observation_period VALUES
    (1, 101, '2016-02-10', '2017-06-30', 32817),
    (2, 102, '2014-01-20', '2017-02-01', 32817),
    (3, 103, '2015-01-01', '2015-12-31', 32817),
    (4, 104, '2016-01-01', '2016-12-31', 32817);

CREATE TABLE visit_occurrence (
    visit_occurrence_id INTEGER NOT NULL, person_id INTEGER NOT NULL, visit_concept_id INTEGER NOT NULL,
    visit_start_date DATE NOT NULL, visit_end_date DATE NOT NULL, visit_type_concept_id INTEGER NOT NULL,
    visit_source_value VARCHAR, visit_source_concept_id INTEGER);
INSERT INTO visit_occurrence VALUES
    (701, 101, 9202, '2016-02-10', '2016-02-10', 32817, 'CONSULT', NULL),
    (702, 101, 9202, '2017-06-30', '2017-06-30', 32817, 'CONSULT', NULL);

CREATE TABLE condition_occurrence (
    condition_occurrence_id INTEGER NOT NULL, person_id INTEGER NOT NULL,
    condition_concept_id INTEGER NOT NULL, condition_start_date DATE NOT NULL,
    condition_end_date DATE, condition_type_concept_id INTEGER NOT NULL,
    condition_source_value VARCHAR, condition_source_concept_id INTEGER);
INSERT INTO condition_occurrence VALUES
    -- the ETL left the concept 0 and kept the ICD-10-CM code as the source concept
    (501, 101, 0, '2016-02-10', NULL, 32817, 'N04.9', 45547453),
    (502, 101, 195314, '2016-03-01', NULL, 32817, 'N04.9', 45547453),
    (503, 101, 4100858, '2016-09-12', NULL, 32817, 'L68.9', NULL),
    (504, 102, 195314, '2014-01-20', NULL, 32817, 'NEPHROSE', NULL),
    (505, 102, 4128061, '2014-02-15', NULL, 32817, 'HSF', NULL),
    (506, 102, 320128, '2014-03-02', NULL, 32817, 'I10', NULL),
    (507, 104, 195314, '2016-01-05', NULL, 32817, 'N04.9', NULL);

CREATE TABLE measurement (
    measurement_id INTEGER NOT NULL, person_id INTEGER NOT NULL, measurement_concept_id INTEGER NOT NULL,
    measurement_date DATE NOT NULL, measurement_type_concept_id INTEGER NOT NULL,
    operator_concept_id INTEGER, value_as_number NUMERIC, value_as_concept_id INTEGER,
    unit_concept_id INTEGER, measurement_source_value VARCHAR, measurement_source_concept_id INTEGER,
    unit_source_value VARCHAR, value_source_value VARCHAR);
INSERT INTO measurement VALUES
    (4411, 101, 3001582, '2016-02-10', 32817, NULL, 2.4, NULL, 9074, 'UPCR', NULL, 'mg/mg', '2.4'),
    (4412, 101, 3001582, '2016-03-15', 32817, 4171756, 0.1, NULL, 9074, 'UPCR', NULL, 'mg/mg', '<0.1'),
    -- the hospital's own creatinine code, mapped to LOINC by the site; a unit spelled its way
    (4413, 101, 0, '2016-03-15', 32817, NULL, 38, NULL, 0, 'CREA-E', 2000001001, 'µmol/l', '38'),
    (4414, 101, 3016723, '2016-06-20', 32817, NULL, 0.45, NULL, 8840, 'CREAT', NULL, 'mg/dL', '0.45'),
    (4415, 101, 3004501, '2016-06-20', 32817, NULL, 92, NULL, 8840, 'GLU', NULL, 'mg/dL', '92'),
    (4416, 101, 3014051, '2016-02-10', 32817, NULL, NULL, 4123508, NULL, 'BU-PROT', NULL, NULL, '++'),
    -- creatinine in mass concentration with a molar unit: not a unit its LOINC allows
    (4417, 101, 3016723, '2016-09-12', 32817, NULL, 40, NULL, 8749, 'CREAT', NULL, 'umol/L', '40'),
    (4418, 101, 3024561, '2016-02-10', 32817, NULL, 2.1, NULL, 8713, 'ALB', NULL, 'g/dL', '2.1'),
    (4421, 102, 3010375, '2014-06-02', 32817, NULL, 95, NULL, 8842, 'CSA-T0', NULL, 'ng/mL', '95'),
    (4431, 103, 3001582, '2015-03-01', 32817, NULL, 0.05, NULL, 9074, 'UPCR', NULL, 'mg/mg', '0.05');

CREATE TABLE observation (
    observation_id INTEGER NOT NULL, person_id INTEGER NOT NULL, observation_concept_id INTEGER NOT NULL,
    observation_date DATE NOT NULL, observation_type_concept_id INTEGER NOT NULL,
    value_as_number NUMERIC, value_as_string VARCHAR, value_as_concept_id INTEGER, unit_concept_id INTEGER,
    observation_source_value VARCHAR, observation_source_concept_id INTEGER, unit_source_value VARCHAR);
INSERT INTO observation VALUES
    (801, 101, 4054556, '2016-02-10', 32817, NULL, 'never', NULL, NULL, 'TABAC', NULL, NULL),
    (802, 101, 3025315, '2016-02-10', 32817, 19.5, NULL, NULL, 9529, 'POIDS', NULL, 'kg'),
    -- the death also charted as an observation: one death event
    (803, 102, 4306655, '2017-02-01', 32817, NULL, NULL, NULL, NULL, 'DECES', NULL, NULL);

CREATE TABLE drug_exposure (
    drug_exposure_id INTEGER NOT NULL, person_id INTEGER NOT NULL, drug_concept_id INTEGER NOT NULL,
    drug_exposure_start_date DATE NOT NULL, drug_exposure_end_date DATE NOT NULL,
    verbatim_end_date DATE, drug_type_concept_id INTEGER NOT NULL, quantity NUMERIC,
    days_supply INTEGER, sig VARCHAR, drug_source_value VARCHAR, drug_source_concept_id INTEGER,
    dose_unit_source_value VARCHAR);
INSERT INTO drug_exposure VALUES
    (901, 101, 1551099, '2016-02-10', '2016-03-23', '2016-03-23', 32817, NULL, 43, '60 mg/m2/day daily', 'CORTANCYL', NULL, 'mg/m2/day'),
    -- a clinical drug (the capsule), its ingredient through concept_ancestor; a prescription in
    -- free text; running to the end of observation: ongoing
    (902, 101, 19010484, '2016-04-01', '2017-06-30', NULL, 32817, 60, 30, '25 mg twice daily', 'NEORAL 25', NULL, 'mg'),
    -- no standard concept: the NDC product's 'Maps to' a clinical drug, then its ingredient
    (903, 102, 0, '2014-05-01', '2014-10-31', '2014-10-31', 32817, 90, 90, NULL, '00469-0617-71', 45141364, NULL),
    (904, 101, 1713332, '2016-11-02', '2016-11-09', NULL, 32817, 21, 7, '250 mg three times daily', 'CLAMOXYL', NULL, 'mg');

CREATE TABLE procedure_occurrence (
    procedure_occurrence_id INTEGER NOT NULL, person_id INTEGER NOT NULL,
    procedure_concept_id INTEGER NOT NULL, procedure_date DATE NOT NULL,
    procedure_type_concept_id INTEGER NOT NULL, procedure_source_value VARCHAR,
    procedure_source_concept_id INTEGER);
INSERT INTO procedure_occurrence VALUES
    (601, 102, 2213572, '2015-06-01', 32817, '90935', NULL),
    (602, 102, 2213572, '2015-06-03', 32817, '90935', NULL),
    (603, 102, 4322471, '2016-01-15', 32817, 'KTX', NULL),
    -- the graft failed: dialysis again, a new start
    (604, 102, 2213572, '2016-11-20', 32817, '90935', NULL);

CREATE TABLE death (
    person_id INTEGER NOT NULL, death_date DATE NOT NULL, death_type_concept_id INTEGER,
    cause_concept_id INTEGER, cause_source_value VARCHAR, cause_source_concept_id INTEGER);
INSERT INTO death VALUES (102, '2017-02-01', 32817, NULL, NULL, NULL);
