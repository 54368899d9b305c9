--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SELECT pg_catalog.set_config('search_path', '', false);

--
-- Name: customers; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.customers (
    id integer NOT NULL,
    email text NOT NULL,
    full_name character varying(100),
    phone text,
    birth_date date,
    plan text DEFAULT 'free'::text NOT NULL
);


CREATE TABLE public.orders (
    id integer NOT NULL,
    customer_id integer NOT NULL,
    note text,
    created_at timestamp without time zone DEFAULT now() NOT NULL
);


CREATE TABLE public.countries (
    code character(2) NOT NULL,
    name text NOT NULL
);


--
-- Data for Name: countries; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.countries (code, name) FROM stdin;
FR	France
DE	Germany
\.


COPY public.customers (id, email, full_name, phone, birth_date, plan) FROM stdin;
1	ada@lovelace.org	Ada Lovelace	+44 20 7946 0958	1815-12-10	pro
2	alan@turing.org	Alan Turing	+44 20 7946 0018	1912-06-23	free
3	grace@hopper.mil	Grace Hopper	(212) 555-0143	\N	free
4	tab\there@x.org	Back\\slash Name	555-0100	2000-02-29	free
\.


COPY public.orders (id, customer_id, note, created_at) FROM stdin;
10	1	first order for ada@lovelace.org	2026-01-02 10:11:12
11	1	\N	2026-01-03 00:00:00
12	2	call +44 20 7946 0018	2026-02-03 08:00:00.5
13	4	x	2026-03-04 09:00:00
\.


ALTER TABLE ONLY public.countries
    ADD CONSTRAINT countries_pkey PRIMARY KEY (code);


ALTER TABLE ONLY public.customers
    ADD CONSTRAINT customers_email_key UNIQUE (email);


ALTER TABLE ONLY public.customers
    ADD CONSTRAINT customers_pkey PRIMARY KEY (id);


ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);


ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id);


--
-- PostgreSQL database dump complete
--

