# Prose templates read and review better unbroken:
# ruff: noqa: E501
"""The words of the demo: a fictional e-bike maker, its rivals, and what people say about them.

Everything here was written for Hubbub. Templates hold ``{slot}`` names filled from the
vocabulary of the post's language (falling back to the shared one), so a few hundred lines of
text give many thousands of distinct, natural-sounding posts.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence

BRAND = "Lumen Bikes"
PRODUCTS = ("Lumen Arc", "Lumen Drift", "Lumen Spark")
COMPETITORS = ("Voltaro", "Pedalia")
COMPETITOR_PRODUCTS = {
    "Voltaro": ("Voltaro V3", "Voltaro Haul"),
    "Pedalia": ("Pedalia Flow", "Pedalia Fold"),
}
# The product at the heart of the crisis and the one in the viral video.
CRISIS_PRODUCT = "Lumen Arc"
VIRAL_PRODUCT = "Lumen Drift"
SITE = "https://lumenbikes.example"

INTENTS = (
    "praise",
    "complaint",
    "question",
    "purchase",
    "feature",
    "support",
    "spam",
    "chatter",
    "rival",
    "offtopic",
)

SPAM_LINKS = (
    "https://ebike-deals.example/lumen",
    "https://free-bikes.example/win",
    "https://cheap-batteries.example/sale",
    "https://ridecoin.example/join",
)

_SLOT = re.compile(r"\{(\w+)\}")

# --------------------------------------------------------------------------- vocabulary

COMMON: dict[str, Sequence[str]] = {
    "product": PRODUCTS,
    "brand": ("Lumen", "Lumen", "Lumen Bikes"),
    "competitor": COMPETITORS,
    "comp_product": tuple(p for ps in COMPETITOR_PRODUCTS.values() for p in ps),
    "km": ("12", "18", "23", "27", "31", "35", "42", "48", "55", "63", "70", "85"),
    "n": ("2", "3", "4", "5", "6", "8", "10"),
    "weeks": ("2", "3", "4", "5", "6"),
    "months": ("3", "4", "5", "6", "8", "9", "11", "14", "18"),
    "minutes": ("15", "18", "20", "22", "25", "30"),
    "long_minutes": ("40", "45", "50", "55", "65", "70"),
    "order": ("LB-20417", "LB-31188", "LB-28830", "LB-40291", "LB-35502", "LB-19934", "LB-44710"),
    "error": ("E07", "E12", "E21", "E30", "E04", "E15"),
    "firmware": ("2.4.1", "2.4.3", "2.5.0", "2.5.2"),
    "emoji_pos": ("🚲", "⚡", "🙌", "😍", "💚", "☀️", "🔋", "😎", "👌", "✨"),
    "emoji_neg": ("😤", "🙄", "😡", "😞", "🤦", "😩", "💸"),
    "price": ("$2,499", "$3,199", "$1,899", "€2,390", "€3,050"),
    "site": (SITE,),
    "crisis": (CRISIS_PRODUCT,),
    "viral": (VIRAL_PRODUCT,),
    "spam_link": SPAM_LINKS,
}

VOCAB: dict[str, dict[str, Sequence[str]]] = {
    "en": {
        "place": (
            "Portland",
            "Leeds",
            "Melbourne",
            "Toronto",
            "Brooklyn",
            "Bristol",
            "Denver",
            "Glasgow",
            "Minneapolis",
            "Dublin",
            "Austin",
            "Manchester",
            "Seattle",
            "Oakland",
        ),
        "part": (
            "motor",
            "battery",
            "display",
            "rear brake",
            "kickstand",
            "rear rack",
            "charger",
            "headlight",
            "belt drive",
            "throttle",
            "torque sensor",
            "fender",
        ),
        "good_part": (
            "torque sensor",
            "belt drive",
            "hydraulic brake setup",
            "motor",
            "display",
            "frame",
            "lights",
            "geometry",
        ),
        "failure": (
            "died",
            "stopped working",
            "started rattling",
            "cracked",
            "come loose",
            "failed",
            "started grinding",
            "given up",
        ),
        "issue": (
            "the display keeps freezing at startup",
            "the motor cuts out on every hill",
            "the charger stopped charging after a month",
            "it squeaks like crazy over bumps",
            "the app won't pair with the bike anymore",
            "the headlight flickers constantly",
            "the belt slips under load",
            "the range dropped by half overnight",
        ),
        "weather": (
            "in the pouring rain",
            "in -5°C",
            "through snow",
            "in a proper gale",
            "in 35°C heat",
            "in the dark and fog",
        ),
        "hill": (
            "the big hill on my way to work",
            "that brutal climb out of the valley",
            "Queen Anne hill",
            "the 12% ramp behind the station",
            "every hill in town",
        ),
        "cargo": (
            "two kids",
            "a week of groceries",
            "the dog",
            "a full load of compost",
            "my cello",
            "a Christmas tree",
            "three crates of beer",
            "a flat-pack wardrobe",
        ),
        "relative": ("dad", "mum", "partner", "sister", "neighbour", "boss", "grandma"),
        "color": ("moss green", "slate grey", "burnt orange", "midnight blue", "sand"),
        "accessory": (
            "child seat",
            "front basket",
            "pannier rack",
            "phone mount",
            "trailer hitch",
            "second battery",
            "suspension seatpost",
        ),
        "feature": (
            "a built-in alarm",
            "turn signals",
            "a bigger battery option",
            "a proper walk-assist mode",
            "integrated GPS tracking",
            "a USB-C port",
            "a step-through frame in size L",
            "a dark mode for the display",
            "swappable batteries",
            "automatic lights",
        ),
        "app_feature": (
            "ride export to GPX",
            "a battery health screen",
            "family sharing",
            "offline unlock",
            "Apple Watch support",
            "range prediction by route",
        ),
        "use": ("commuting", "school runs", "weekend trail", "hilly city", "grocery"),
        "terrain": (
            "cobbles",
            "gravel paths",
            "steep hills",
            "tram tracks",
            "potholes",
            "snow and slush",
        ),
        "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"),
        "aspect": (
            "range",
            "price",
            "weight",
            "the app",
            "build quality",
            "the motor",
            "the warranty",
            "looks",
            "service network",
        ),
        "offtopic_thing": (
            "bike lanes",
            "bike parking",
            "the new cycle bridge",
            "bike theft",
            "the car-free Sunday",
            "winter cycling",
        ),
        "tag": (
            "ebike",
            "bikecommute",
            "cycling",
            "cargobike",
            "ebikes",
            "bikelife",
            "cyclinglife",
            "urbancycling",
        ),
    },
    "de": {
        "place": (
            "Berlin",
            "Hamburg",
            "München",
            "Köln",
            "Leipzig",
            "Freiburg",
            "Wien",
            "Zürich",
            "Münster",
            "Dresden",
        ),
        "part": (
            "Motor",
            "Akku",
            "Display",
            "Bremsen",
            "Ständer",
            "Gepäckträger",
            "Ladegerät",
            "Licht",
            "Riemen",
        ),
        "cargo": (
            "zwei Kinder",
            "den Wocheneinkauf",
            "den Hund",
            "eine Kiste Wasser",
            "den Weihnachtsbaum",
        ),
        "color": ("Moosgrün", "Schiefergrau", "Orange", "Nachtblau"),
        "weather": ("bei Regen", "bei minus fünf Grad", "im Schnee", "bei Gegenwind"),
        "tag": ("ebike", "fahrrad", "radfahren", "lastenrad", "pendeln", "fahrradstadt"),
        "feature": ("eine Alarmanlage", "Blinker", "einen größeren Akku", "GPS-Ortung"),
    },
    "fr": {
        "place": (
            "Paris",
            "Lyon",
            "Nantes",
            "Bordeaux",
            "Strasbourg",
            "Grenoble",
            "Lille",
            "Montréal",
            "Bruxelles",
            "Genève",
        ),
        "part": (
            "moteur",
            "batterie",
            "écran",
            "freins",
            "béquille",
            "porte-bagages",
            "chargeur",
            "phare",
            "courroie",
        ),
        "cargo": ("deux enfants", "les courses de la semaine", "le chien", "un sapin de Noël"),
        "color": ("vert mousse", "gris ardoise", "orange brûlé", "bleu nuit"),
        "weather": (
            "sous la pluie",
            "par moins cinq degrés",
            "dans la neige",
            "avec un vent de face",
        ),
        "tag": ("velo", "velotaf", "vae", "velocargo", "cyclisme", "velorution"),
        "feature": (
            "une alarme intégrée",
            "des clignotants",
            "une plus grosse batterie",
            "un traceur GPS",
        ),
    },
    "es": {
        "place": (
            "Madrid",
            "Barcelona",
            "Valencia",
            "Sevilla",
            "Bilbao",
            "Ciudad de México",
            "Buenos Aires",
            "Bogotá",
            "Zaragoza",
        ),
        "part": (
            "motor",
            "batería",
            "pantalla",
            "frenos",
            "pata de cabra",
            "portabultos",
            "cargador",
            "faro",
            "correa",
        ),
        "cargo": ("a los dos niños", "la compra de la semana", "al perro", "un árbol de Navidad"),
        "color": ("verde musgo", "gris pizarra", "naranja", "azul noche"),
        "weather": ("bajo la lluvia", "con cuarenta grados", "con viento en contra"),
        "tag": ("bicicleta", "ebike", "bicielectrica", "enbici", "ciclismourbano"),
        "feature": ("una alarma", "intermitentes", "una batería más grande", "localizador GPS"),
    },
    "pt": {
        "place": (
            "São Paulo",
            "Lisboa",
            "Porto",
            "Curitiba",
            "Rio de Janeiro",
            "Belo Horizonte",
            "Florianópolis",
            "Recife",
        ),
        "part": (
            "motor",
            "bateria",
            "display",
            "freios",
            "descanso",
            "bagageiro",
            "carregador",
            "farol",
            "correia",
        ),
        "cargo": ("as duas crianças", "as compras do mês", "o cachorro", "uma árvore de Natal"),
        "color": ("verde musgo", "cinza ardósia", "laranja", "azul noite"),
        "weather": ("na chuva", "num calor de quarenta graus", "com vento contra"),
        "tag": ("bike", "ebike", "bicicleta", "pedal", "vadebike", "mobilidade"),
        "feature": ("um alarme", "setas", "uma bateria maior", "rastreador GPS"),
    },
    "ja": {
        "place": ("東京", "大阪", "京都", "福岡", "札幌", "名古屋", "横浜", "神戸"),
        "part": (
            "モーター",
            "バッテリー",
            "ディスプレイ",
            "ブレーキ",
            "スタンド",
            "荷台",
            "充電器",
            "ライト",
            "ベルト",
        ),
        "cargo": ("子ども二人", "一週間分の食材", "犬", "クリスマスツリー"),
        "color": ("モスグリーン", "スレートグレー", "オレンジ", "ミッドナイトブルー"),
        "weather": ("雨の中", "真夏の暑さの中", "向かい風の中"),
        "tag": ("電動アシスト自転車", "自転車", "ebike", "自転車通勤", "カーゴバイク"),
        "feature": ("盗難アラーム", "ウインカー", "大容量バッテリー", "GPS追跡"),
    },
}

# --------------------------------------------------------------------------- top-level posts

EN: dict[str, Sequence[str]] = {
    "praise": (
        "{months} months on my {product} and it still makes me grin every single morning {emoji_pos}",
        "Just did {km} km on the {product} without thinking about the battery once. Love this bike",
        "The {product} turned my {long_minutes}-minute bus commute into a {minutes}-minute ride. Best thing I bought this year",
        "Shoutout to {brand_ref} support: {part} problem sorted in {n} days, new part shipped free. That's how you keep customers",
        "Rode the {product} {weather} today and it handled it like a champ {emoji_pos}",
        "Honestly the {good_part} on the {product} is so good. Smooth, quiet, just works",
        "Took the {product} up {hill} without breaking a sweat. Whoever tuned that motor deserves a raise",
        "My {relative} borrowed my {product} for a weekend and now wants one. Sorry wallet",
        "Sold the second car. The {product} carries {cargo} now and I don't miss the car at all",
        "Can confirm the {product} hype is real. Picked mine up on {weekday} and I've ridden every day since",
        "Happy {product} anniversary to me! {km}00 km, one flat tyre, zero regrets {emoji_pos}",
        "There's something great about passing the traffic jam on a {product} while sipping coffee at the lights",
        "{brand_ref} the new firmware {firmware} is excellent, the assist feels way more natural now. Thank you!",
        "Loaded {cargo} onto the {product} today. It didn't even notice. Brilliant bike",
        "Best part of owning a {product}: arriving at work awake and happy instead of sweaty and late",
        "Not a cyclist, never was. The {product} changed that. {km} km this week and I want more",
    ),
    "complaint": (
        "Third time this month the {part} on my {product} has {failure}. Getting really tired of this {emoji_neg}",
        "{brand_ref} your {product} is a lovely bike with a terrible {part}. Right now {issue}",
        "Waited {weeks} weeks for a replacement {part}. Still nothing. Not impressed, {brand}",
        "Paid {price} for a {product} and the {part} has {failure} after {n} weeks. Really disappointed",
        "The Lumen app logged me out again and now the {product} won't unlock. Ridiculous",
        "So my {product} has a problem: {issue}. Support hasn't answered in {n} days. Awful",
        "Love the ride, hate the reliability. The {part} on my {product} has {failure} again {emoji_neg}",
        "Warning to anyone looking at the {product}: {issue}. Mine's been back to the shop {n} times",
        "{brand_ref} stop sending me marketing emails and answer my warranty ticket instead",
        "Why does a {price} bike come with a {part} this cheap? The {product} deserves better",
        "Dealer says {n} more weeks for a {product} {part}. So I'm back on the bus. Great. {emoji_neg}",
        "The {part} on my {product} has {failure} and I had to push it home in the rain. Furious",
    ),
    "question": (
        "Anyone here ride a {product} in {place}? How does it handle {terrain}?",
        "Is the {product} worth it over the {comp_product}? Mostly {use} riding",
        "Does the {product} fit a {accessory}? The website doesn't say",
        "What range are people actually getting on the {product} in winter?",
        "How heavy is the {product} battery? Need to carry it up {n} flights of stairs",
        "{product} owners: do you use the boost mode much, or is eco enough?",
        "Can the {product} take a bigger tyre? Thinking about {terrain}",
        "Quick one: how long does the {product} take to charge from empty?",
        "Does anyone know when the {product} is back in stock in {place}?",
        "Is {firmware} the latest firmware for the {product}, or am I missing an update?",
        "Those of you with a {product}, how often do you service it?",
    ),
    "purchase": (
        "Finally ordering the {product} this weekend. {color} or {color2}?",
        "Test ride booked for the {product} on {weekday}. If it's as good as everyone says my wallet is in trouble",
        "Saving up for a {product}. {n} more paychecks to go",
        "Torn between the {product} and the {comp_product}. Leaning Lumen. Convince me",
        "Where can I test ride a {product} near {place}?",
        "That's it, I'm buying the {product}. The bus company has pushed me too far",
        "Put a deposit down on a {product} in {color} today {emoji_pos}",
        "Ordered! {product} arriving in {weeks} weeks. Counting the days",
        "Cycle-to-work scheme approved, so it's a {product} for me. Which size for 178 cm?",
    ),
    "feature": (
        "Dear {brand_ref}, please give the {product} {feature}. I'd pay extra",
        "Only thing missing on my {product}: {feature}",
        "Feature request for the Lumen app: {app_feature}. Pretty please",
        "If the next {product} has {feature} I'm upgrading on day one",
        "{brand_ref} any plans for {feature} on the {product}? Would make it perfect",
        "Love my {product} but it really needs {feature}. {competitor} already has it",
    ),
    "support": (
        "{brand_ref} my {product} shows error {error} and won't turn on. What do I do?",
        "How do I reset the display on the {product}? Manual says hold the button but nothing happens",
        "{brand_ref} order {order} still says processing after {n} days, can someone look into it?",
        "Need help: the {part} on my {product} has {failure}. Warranty claim, who do I email?",
        "{brand_ref} the app says firmware {firmware} failed to install and now the assist is off. Help?",
        "{brand_ref} is there a service partner in {place}? My {product} needs its first check",
        "Got error {error} on my {product} after riding {weather}. Is that a known thing {brand_ref}?",
    ),
    "chatter": (
        "Spotted a {product} at the {place} bike rack today. That {color} paint is sharp",
        "Comparing specs: {product} vs {comp_product}. Lumen wins on {aspect}, {competitor} on {aspect2}",
        "{product} review after {weeks} weeks: good {aspect}, average {aspect2}. Full notes in the thread",
        "Interesting that {brand} is hiring in {place}. New store coming?",
        "Three {product}s parked outside the office today. Something's happening",
        "The {product} ad on the tram is everywhere in {place} this week",
    ),
    "rival": (
        "The {comp_product} is honestly a great bike. {aspect} is unbeatable at that price",
        "The {part} on my {comp_product} has {failure} again. Maybe I should've bought something else",
        "Just picked up a {comp_product}. {km} km on day one {emoji_pos}",
        "{competitor} support took {n} weeks to answer me. Never again",
        "Anyone compared the {comp_product} with the new {comp_product2}?",
        "{competitor} just announced a price cut on the {comp_product}. Interesting move",
        "The {comp_product} looks great but the {part} feels cheap in person",
    ),
    "offtopic": (
        "The new protected lane in {place} is a game changer. More of this please",
        "Reminder that {offtopic_thing} in {place} still needs a lot of work",
        "Cycled {km} km this week instead of driving. Feels good",
        "Anyone else ride {weather} today? Respect to everyone who did",
        "Bike shop recommendations in {place}? Need a tune-up before winter",
        "Watching cars sit in traffic from the bike lane never gets old",
    ),
}

# Spam is repetitive by nature: the same few texts from throwaway accounts.
SPAM = (
    "🔥 {product} for just $99!!! Limited stock, grab yours now → {spam_link}",
    "WIN a FREE {product}! Follow, repost and click {spam_link} to enter 🎁",
    "Make $500 a day riding your e-bike!! DM me for details 💰💰",
    "Cheap {product} batteries, factory direct, 80% off today only {spam_link}",
    "Crypto for cyclists 🚀 get paid to ride, early access here {spam_link}",
)

OTHER: dict[str, dict[str, Sequence[str]]] = {
    "de": {
        "praise": (
            "Seit {months} Monaten fahre ich das {product} und freue mich jeden Morgen darauf {emoji_pos}",
            "Heute {km} km mit dem {product} {weather}. Läuft einfach. Tolles Rad!",
            "Das {product} hat das Auto ersetzt. {cargo} passen problemlos drauf",
            "Großes Lob an den Lumen Support: Ersatzteil ({part}) in {n} Tagen getauscht. Super!",
        ),
        "complaint": (
            "Schon wieder: {part} am {product} kaputt. Nach {n} Wochen. Echt enttäuschend {emoji_neg}",
            "Seit {weeks} Wochen warte ich auf ein Ersatzteil für mein {product}. Keine Antwort. Schlechter Service",
            "{brand_ref} mein {product} zeigt Fehler {error} und geht nicht an. Ärgerlich",
        ),
        "question": (
            "Fährt jemand ein {product} in {place}? Wie ist die Reichweite im Winter?",
            "{product} oder {comp_product}? Hauptsächlich zum Pendeln. Erfahrungen?",
            "Passt ein Kindersitz auf das {product}?",
        ),
        "purchase": (
            "Probefahrt mit dem {product} am Samstag. Ich glaube, das wird teuer",
            "Bestellt! {product} in {color}. Lieferung in {weeks} Wochen {emoji_pos}",
        ),
        "feature": ("Wünsche mir für das {product} {feature}. Dann wäre es perfekt",),
        "support": ("{brand_ref} gibt es eine Werkstatt in {place}, die das {product} wartet?",),
    },
    "fr": {
        "praise": (
            "{months} mois avec mon {product} et toujours le sourire chaque matin {emoji_pos}",
            "{km} km aujourd'hui en {product}, {weather}. Aucun souci. Je l'adore",
            "Le {product} a remplacé la voiture. {cargo}, sans effort",
            "Bravo au service client Lumen : pièce remplacée en {n} jours ({part}). Top",
        ),
        "complaint": (
            "Encore un problème de {part} sur mon {product}. Après {n} semaines. Très déçu {emoji_neg}",
            "J'attends une pièce pour mon {product} depuis {weeks} semaines. Aucune réponse. Nul",
            "{brand_ref} mon {product} affiche l'erreur {error} et ne démarre plus. Agaçant",
        ),
        "question": (
            "Quelqu'un roule en {product} à {place} ? Quelle autonomie en hiver ?",
            "{product} ou {comp_product} pour le vélotaf ? Vos avis ?",
            "Est-ce qu'un siège enfant se monte sur le {product} ?",
        ),
        "purchase": (
            "Essai du {product} samedi. Je sens que je vais craquer",
            "Commandé ! {product} en {color}, livraison dans {weeks} semaines {emoji_pos}",
        ),
        "feature": ("Il manque juste {feature} au {product} et il serait parfait",),
        "support": (
            "{brand_ref} y a-t-il un atelier partenaire à {place} pour l'entretien du {product} ?",
        ),
    },
    "es": {
        "praise": (
            "{months} meses con mi {product} y sigo sonriendo cada mañana {emoji_pos}",
            "Hoy {km} km con la {product} {weather}. Ni me enteré. Me encanta",
            "La {product} sustituyó al coche. Llevo {cargo} sin problema",
            "Gracias al soporte de Lumen: cambio de {part} en {n} días. Genial",
        ),
        "complaint": (
            "Otra vez problemas de {part} con mi {product}. Después de {n} semanas. Qué decepción {emoji_neg}",
            "Llevo {weeks} semanas esperando un repuesto para mi {product}. Sin respuesta. Fatal",
            "{brand_ref} mi {product} marca error {error} y no enciende. Qué rabia",
        ),
        "question": (
            "¿Alguien tiene una {product} en {place}? ¿Qué autonomía le sacáis en invierno?",
            "¿{product} o {comp_product} para ir al trabajo? ¿Opiniones?",
            "¿Se le puede poner una silla de niño a la {product}?",
        ),
        "purchase": (
            "Prueba de la {product} el sábado. Creo que voy a caer",
            "¡Pedida! {product} en {color}, llega en {weeks} semanas {emoji_pos}",
        ),
        "feature": ("A la {product} solo le falta {feature}. Sería perfecta",),
        "support": ("{brand_ref} ¿hay un taller oficial en {place} para revisar la {product}?",),
    },
    "pt": {
        "praise": (
            "{months} meses com a minha {product} e ainda sorrio toda manhã {emoji_pos}",
            "Hoje foram {km} km de {product} {weather}. Nem senti. Amo essa bike",
            "A {product} substituiu o carro. Levo {cargo} tranquilo",
            "Valeu, suporte da Lumen: troca de {part} em {n} dias. Excelente",
        ),
        "complaint": (
            "De novo problema de {part} na minha {product}. Depois de {n} semanas. Que decepção {emoji_neg}",
            "Esperando há {weeks} semanas uma peça para a {product}. Nenhuma resposta. Péssimo",
            "{brand_ref} minha {product} mostra erro {error} e não liga. Que raiva",
        ),
        "question": (
            "Alguém aqui tem uma {product} em {place}? Qual a autonomia real?",
            "{product} ou {comp_product} para ir ao trabalho? Opiniões?",
            "Dá para colocar cadeirinha de criança na {product}?",
        ),
        "purchase": (
            "Test ride da {product} no sábado. Acho que vou comprar",
            "Comprei! {product} {color}, chega em {weeks} semanas {emoji_pos}",
        ),
        "feature": ("Só falta {feature} na {product} para ficar perfeita",),
        "support": ("{brand_ref} tem assistência técnica em {place} para a {product}?",),
    },
    "ja": {
        "praise": (
            "{product}に乗って{months}ヶ月。毎朝の通勤が楽しみになった {emoji_pos}",
            "今日は{product}で{km}km。{weather}でも全然平気。最高の自転車",
            "{product}で{cargo}を運べる。車はもういらないかも",
            "Lumenのサポートが神対応。{part}を{n}日で交換してくれた",
        ),
        "complaint": (
            "また{product}の{part}が故障。買って{n}週間なのに。がっかり {emoji_neg}",
            "{product}の部品を{weeks}週間待ってるけど連絡なし。ひどい",
            "{brand_ref} {product}にエラー{error}が出て電源が入らない。困ってます",
        ),
        "question": (
            "{place}で{product}に乗ってる人いますか？冬の航続距離はどのくらい？",
            "{product}と{comp_product}、通勤ならどっちがおすすめ？",
            "{product}に子ども乗せシートは付けられますか？",
        ),
        "purchase": (
            "土曜日に{product}を試乗予定。買ってしまいそう",
            "注文した！{product}の{color}、{weeks}週間後に届く {emoji_pos}",
        ),
        "feature": ("{product}に{feature}があれば完璧なのに",),
        "support": ("{brand_ref} {place}に{product}を点検できる店はありますか？",),
    },
}

# --------------------------------------------------------------------------- replies

REPLIES_EN: dict[str, Sequence[str]] = {
    "praise": (
        "Same experience here, {months} months in and still love it",
        "Congrats! Enjoy it {emoji_pos}",
        "How's the range been for you in the cold?",
        "Which size did you go for?",
        "This is exactly why I'm considering one",
        "Glad it's working out! Mine's been great too",
        "Jealous. Still saving for mine",
        "Did you go for the {color} one? Looks great in photos",
    ),
    "complaint": (
        "Same thing happened to mine last month",
        "Did you contact support? They sorted mine in about a week",
        "That's rough. Mine's been fine for {months} months, hope they fix it",
        "Ugh, sorry. That's why I went with the {comp_product} in the end",
        "Mine too. Really not acceptable at this price",
        "Post it on the owners forum, there's a known fix for the {part}",
        "Have you tried a firmware update? {firmware} fixed something similar for me",
        "This is worrying, I'm supposed to get mine next week",
    ),
    "question": (
        "I get about {km} km in winter on eco, a bit more in summer",
        "Yes, it fits a {accessory} with the adapter kit",
        "Test ride both. The {product} felt much more solid to me",
        "It handles {terrain} fine, just run slightly lower tyre pressure",
        "About four hours from empty with the standard charger",
        "The battery is around 3 kg, not bad to carry",
        "I service mine every 2,000 km or so",
        "Good question, following",
    ),
    "purchase": (
        "Do it! You won't regret it",
        "Go {color}, it looks even better in person",
        "Test ride first, but I think you'll love it",
        "Welcome to the club {emoji_pos}",
        "Check the cycle-to-work scheme first, saved me a lot",
        "Buy it. Best money I've spent",
    ),
    "feature": (
        "+1, would love this too",
        "Yes please. Especially {feature}",
        "Honestly the bike is fine without it, but I get it",
        "This. So much this",
    ),
    "support": (
        "Had {error} once, turning it off and holding the power button for 10 s fixed it",
        "Email the support address, Twitter DMs are slow",
        "Same issue last week, a dealer visit fixed it",
        "Check the battery is clicked in properly, that gave me {error} once",
    ),
    "chatter": (
        "Ha, I saw that one too",
        "Good comparison. I'd add weight to the list",
        "Interesting, thanks for sharing",
        "Following for the full review",
    ),
    "rival": (
        "Had one for a year, no complaints",
        "Try a Lumen before deciding, worth comparing",
        "That's disappointing to hear",
        "Nice! Enjoy the ride",
    ),
    "offtopic": (
        "Agreed, more of this please",
        "Great to see",
        "Same here, it's been a good week for it",
        "Try the shop on the corner by the station, they're great",
    ),
    "spam": ("Reported.", "Spam, ignore", "Blocked"),
}

REPLIES_OTHER: dict[str, Sequence[str]] = {
    "de": (
        "Geht mir genauso!",
        "Glückwunsch, viel Spaß damit {emoji_pos}",
        "Bei mir das gleiche Problem",
        "Hast du den Support kontaktiert?",
        "Klingt gut, danke für die Info",
    ),
    "fr": (
        "Pareil pour moi !",
        "Félicitations, profite bien {emoji_pos}",
        "Même problème ici",
        "Tu as contacté le SAV ?",
        "Merci pour le retour",
    ),
    "es": (
        "¡Me pasa lo mismo!",
        "¡Enhorabuena, a disfrutarla {emoji_pos}!",
        "Mismo problema aquí",
        "¿Has escrito al soporte?",
        "Gracias por compartir",
    ),
    "pt": (
        "Comigo também!",
        "Parabéns, aproveita {emoji_pos}",
        "Mesmo problema aqui",
        "Já falou com o suporte?",
        "Valeu pela dica",
    ),
    "ja": (
        "わかります！",
        "おめでとうございます {emoji_pos}",
        "うちも同じ症状です",
        "サポートに連絡しましたか？",
        "参考になります、ありがとう",
    ),
}

BRAND_REPLIES: dict[str, Sequence[str]] = {
    "complaint": (
        "Hi {first}, that's not the experience we want you to have. Please DM us your order number and we'll get a replacement {part} out this week.",
        "{first}, really sorry about this. Our service team will call you today to sort it out.",
        "Sorry {first}! That shouldn't happen. Can you send us a short video to help@lumenbikes.example so we can fix it quickly?",
    ),
    "support": (
        "Hi {first}, error {error} usually means the battery contacts need a clean. Steps here: {site}/help/{error_lower}",
        "{first}, thanks for flagging, we've chased your order and it ships tomorrow.",
        "Hi {first}, our partner shop list is at {site}/service. DM us if nothing's close and we'll arrange a mobile mechanic.",
    ),
    "question": (
        "Great question {first}! Full specs are at {site}/bikes, and you can book a test ride there too.",
        "Hi {first}, yes! Most owners report 60 to 90 km depending on mode and temperature.",
    ),
    "praise": (
        "This made our day, {first}! Ride safe {emoji_pos}",
        "Thanks so much {first}! Enjoy every kilometre",
    ),
    "purchase": (
        "Exciting, {first}! Book a free test ride at {site}/test-ride and we'll have one ready.",
    ),
    "feature": (
        "Thanks {first}, passing this to the product team. It's on our list!",
        "Noted, {first}! Watch this space {emoji_pos}",
    ),
}

BRAND_REPLIES_OTHER: dict[str, str] = {
    "de": "Hallo {first}, danke für die Nachricht! Schreib uns bitte per DM, wir kümmern uns um dein {product}.",
    "fr": "Bonjour {first}, merci pour ton message ! Écris-nous en DM, on s'occupe de ton {product}.",
    "es": "¡Hola {first}, gracias por escribirnos! Mándanos un DM y revisamos tu {product}.",
    "pt": "Oi {first}, obrigado pela mensagem! Manda uma DM que a gente resolve a sua {product}.",
    "ja": "{first}さん、ご連絡ありがとうございます。{product}について、DMで詳細をお送りください。",
}

BRAND_POSTS = (
    "Winter riding tips from our mechanics: lower your tyre pressure a little, keep the battery indoors overnight, and wipe the belt after salty rides. {site}/blog/winter",
    "Firmware {firmware} is rolling out to all {product}s this week: smoother assist at low speed and better range estimates. Update through the app.",
    "Meet the {product} in {color}: same motor, new paint, available from today {site}/bikes",
    "Free safety check weekend at all our partner shops. Bring your Lumen, we'll bring the coffee. #RideLumen",
    "Share your commute with #RideLumen this month and we'll feature our favourites every Friday {emoji_pos}",
    "We're opening a new service point in {place} next month. Test rides, repairs, and a very good espresso machine.",
    "How far can a {product} go? Our team rode one {km}0 km across three days. Here's what we learned {site}/blog/long-ride",
    "Behind the scenes: every {product} frame gets 40 checks before it leaves the workshop",
)

CRISIS_POSTS = (
    "The battery on my {crisis} just popped out over a pothole at full speed. It hit the road and skidded into traffic. What the hell {brand_ref}",
    "{brand_ref} your {crisis} battery latch is dangerous. Mine released going downhill. Somebody could get killed",
    "Is anyone else's {crisis} battery falling out?? Happened to me twice this week. Terrifying",
    "Stopped riding my {crisis} today. The battery latch is broken by design and {brand} is silent. Unacceptable",
    "Three {crisis} owners in my building, three loose batteries. This is a defect, not bad luck",
    "Just saw a {crisis} battery fly off on the bridge. Rider was fine, just shaken. Scary stuff",
    "{brand_ref} recall the {crisis} now. A battery dropping out at 25 km/h is a serious safety failure",
    "Watched the video of the {crisis} battery falling out. Glad I didn't buy one. Awful",
    "My {crisis} battery latch cracked this morning. Cracked plastic, loose battery, no answer from support. Angry",
    "So the {crisis} battery issue is real. Mine wobbles in the frame. Terrible quality control",
    "Cancelled my {crisis} order after reading all these battery horror stories. Sorry, not risking it",
    "Worst feeling ever: hearing a thud and realising your {crisis} battery is lying in the road behind you",
)
CRISIS_REPLIES = (
    "Same here. Mine came loose yesterday",
    "This is horrifying. Parking mine until they fix it",
    "Happened to my partner last week, we thought it was a one-off",
    "Terrible. Glad you're okay",
    "This needs a recall, full stop",
    "Are you hurt? That's awful",
    "Shameful silence from {brand}. Say something now",
    "Worried now, I ride mine with the kids on the back",
    "Mine rattles too. Not riding it again until this is fixed",
    "Scary. Sharing so other owners check theirs",
    "I told you the latch looked flimsy. Awful design",
    "My dealer says they've had five of these this week. Terrible",
    "Unbelievable. A safety defect on a bike this expensive",
    "Angry on your behalf. Hope you're not hurt",
)
CRISIS_OTHER: dict[str, Sequence[str]] = {
    "de": (
        "Beim {crisis} ist mir heute der Akku während der Fahrt rausgefallen. Gefährlich! {brand_ref}",
        "Der Akku-Verschluss am {crisis} ist ein Sicherheitsproblem. Rückruf jetzt!",
    ),
    "fr": (
        "La batterie de mon {crisis} est tombée en roulant. Dangereux ! {brand_ref}",
        "Le verrou de batterie du {crisis} est défectueux. Il faut un rappel",
    ),
    "es": ("¡Se me cayó la batería de la {crisis} en marcha! Peligroso {brand_ref}",),
    "pt": ("A bateria da minha {crisis} caiu no meio da rua. Perigoso! {brand_ref}",),
    "ja": ("{crisis}のバッテリーが走行中に外れた。危険すぎる {brand_ref}",),
}
CRISIS_BRAND = (
    "We're aware of reports of the {crisis} battery latch releasing on rough roads. Please stop riding your {crisis} until you've done the free latch check at {site}/arc-latch. We're sorry, and we're on it.",
    "Update on the {crisis} battery latch: we've found the cause (a batch of latch springs from one supplier) and will replace every latch for free. Details at {site}/arc-latch",
)
AFTERMATH = (
    "Got the new latch fitted on my {crisis} today. Took ten minutes at the shop. Solid now, and {brand} handled it well in the end",
    "Credit where it's due, {brand_ref} replaced my {crisis} latch within two days of the recall",
    "Still waiting for my {crisis} latch fix. Bike's been parked for a week",
    "Anyone had the {crisis} latch replacement done yet? How long did it take?",
)

VIRAL_POST = (
    "Moved my entire flat with a {viral}. Fourteen trips, one sofa, zero cars. Video below, "
    "watch until the end for the fridge 📦🚲 #cargobike #RideLumen"
)
VIRAL_QUOTES = (
    "This is the best thing on the internet today",
    "The fridge. THE FRIDGE. 😂",
    "I need a {viral} immediately",
    "Showing this to everyone who says cargo bikes aren't practical",
    "Absolute legend",
    "Okay I watched this five times. Incredible",
    "Car companies hate this one simple trick",
    "{brand_ref} give this person a lifetime supply of tyres",
    "This is why I love my {viral}",
    "Cargo bikes are the future and this video proves it",
)
VIRAL_REPLIES = (
    "How did you keep the sofa on?!",
    "Which straps did you use for the fridge?",
    "This made my whole week",
    "Incredible. What's the max load on the {viral}?",
    "The neighbours must have loved this",
    "My landlord would never",
    "Okay I'm convinced, ordering one",
    "Brilliant 😂",
    "Wait, how many km was each trip?",
    "Legend. Absolute legend",
)

HN_STORIES = (
    (
        "Lumen Bikes open-sources the motor controller firmware for its e-bikes",
        "{site}/blog/open-firmware",
        "",
    ),
    (
        "Show HN: I reverse-engineered the Bluetooth protocol of my Lumen Arc",
        "https://github.example/arcble",
        "",
    ),
    (
        "Ask HN: Is an e-bike worth it for a 15 km commute?",
        "",
        "I've been driving 15 km each way. Considering a Lumen Drift or a Voltaro V3. Those of you who switched, was it worth it? What did you underestimate?",
    ),
    (
        "The economics of cargo bikes for small delivery businesses",
        "https://urbanpedal.example/cargo-economics",
        "",
    ),
    (
        "Why e-bike batteries catch fire, and how to store them safely",
        "https://cyclescience.example/battery-safety",
        "",
    ),
    (
        "Pedalia raises prices on its Flow e-bike by 15%",
        "https://urbanpedal.example/pedalia-prices",
        "",
    ),
)
HN_CRISIS = (
    "Lumen Bikes recalls battery latches on its Arc e-bike",
    "https://urbanpedal.example/lumen-arc-recall",
    "",
)
HN_COMMENTS = (
    "I've had a {product} for {months} months. The hardware is solid, the app is the weak point. It needs a cloud login to unlock, which is a bad design for something you depend on every day.",
    "Open firmware is the right move. I'd never buy a bike that becomes e-waste when the company goes under.",
    "The real cost is the battery. Budget for a replacement every 4 to 5 years and the maths still beats a car easily.",
    "Torque sensors make a huge difference. Cadence-only bikes feel like a moped with pedals.",
    "As someone in the industry: margins on e-bikes are thin, and service networks are where most startups fail.",
    "Theft is the elephant in the room. Insurance and a good lock add a lot to the total cost.",
    "I switched from a {comp_product} to a {product}. The {comp_product} was cheaper but the Lumen is much better built.",
    "Regulation varies a lot by country. In the EU you're capped at 25 km/h and 250 W nominal, which is fine for cities.",
    "The BLE protocol in most of these bikes is unauthenticated. Anyone nearby can change the assist level. That should worry people more.",
    "Did you consider a regular bike? 15 km is about 35 minutes for a moderately fit person.",
    "Lithium battery safety is mostly about charging: certified chargers, not overnight in the hallway, and never after a crash without inspection.",
    "Happy {product} owner here. Two winters, zero problems, and my commute is now the best part of my day.",
    "Hard to judge without knowing the latch design. A single plastic detent on a 3 kg battery over cobbles sounds like an obvious failure mode.",
    "Recalls are normal in hardware. What matters is how fast and how honestly they handle it.",
    "Why is everything a subscription now? The Lumen app is free for now, but I'll believe it when I see it in five years.",
    "Cargo bikes beat vans for last-mile delivery in dense cities, the studies are pretty consistent on that.",
)

RSS_FEEDS = (
    # (feed URL, title, language, authors)
    (
        "https://urbanpedal.example/feed.xml",
        "Urban Pedal Review",
        "en",
        ("Hannah Cole", "Marcus Webb"),
    ),
    ("https://cargobikelife.example/rss", "Cargo Bike Life", "en", ("Priya Nair",)),
    ("https://commutenotes.example/atom.xml", "Commute Notes", "en", ("Sam Ortega",)),
    (
        "https://cyclescience.example/feed",
        "Cycle Science Weekly",
        "en",
        ("Dr. Elena Brooks", "Tom Fischer"),
    ),
    ("https://radwelt-blog.example/feed/", "Radwelt Blog", "de", ("Jana Vogel",)),
    ("https://velo-quotidien.example/feed.xml", "Vélo Quotidien", "fr", ("Claire Dubois",)),
    ("https://ciclismourbano.example/feed", "Ciclismo Urbano", "es", ("Diego Ruiz",)),
    ("https://pedalbrasil.example/feed", "Pedal Brasil", "pt", ("Rafael Souza",)),
    ("https://jitensha-life.example/feed", "自転車ライフ", "ja", ("田中 健",)),
    (f"{SITE}/blog/feed.xml", "Lumen Bikes Blog", "en", ("The Lumen Team",)),
)
RSS_ENTRIES: dict[str, Sequence[tuple[str, str]]] = {
    "en": (
        (
            "{product} review: {months} months of daily commuting",
            "We rode the {product} through {weather} and over {terrain}. The {good_part} impressed us; the {part} less so. Verdict inside.",
        ),
        (
            "{product} vs {comp_product}: which e-bike should you buy?",
            "Two of the most popular e-bikes this year, tested back to back on range, comfort, {aspect} and price.",
        ),
        (
            "The best cargo e-bikes for families",
            "From the {comp_product} to the {product}, we tested six bikes with {cargo} on board.",
        ),
        (
            "{competitor} cuts prices across its range",
            "The {comp_product} now starts lower than the {product}. What it means for buyers.",
        ),
        (
            "How to make your e-bike battery last longer",
            "Charging habits, storage temperature and the myths worth ignoring.",
        ),
        (
            "Our long-term {product}: the {part} problem",
            "After {km}00 km, our test bike developed an issue: {issue}. Here's what the dealer did.",
        ),
    ),
    "de": (
        (
            "{product} im Test: {months} Monate Alltag",
            "Wir sind das {product} {weather} gefahren. Motor top, Schwachstelle: {part}.",
        ),
        (
            "{product} oder {comp_product}?",
            "Zwei E-Bikes im direkten Vergleich: Reichweite, Komfort und Preis.",
        ),
    ),
    "fr": (
        (
            "Essai du {product} : {months} mois de vélotaf",
            "Nous avons roulé en {product} {weather}. Le moteur convainc ; point faible : {part}.",
        ),
        (
            "{product} ou {comp_product} : lequel choisir ?",
            "Deux VAE urbains comparés sur l'autonomie, le confort et le prix.",
        ),
    ),
    "es": (
        (
            "Prueba de la {product}: {months} meses en ciudad",
            "Usamos la {product} {weather}. El motor, excelente. Punto débil: {part}.",
        ),
    ),
    "pt": (
        (
            "Teste da {product}: {months} meses no dia a dia",
            "Pedalamos a {product} {weather}. Motor ótimo. Ponto fraco: {part}.",
        ),
    ),
    "ja": (
        (
            "{product}長期レビュー：{months}ヶ月使ってみた",
            "{weather}でも{product}で通勤。モーターは優秀、{part}は改善の余地あり。",
        ),
    ),
}
BRAND_BLOG = (
    (
        "Introducing firmware {firmware}",
        "Smoother assist, better range estimates, and a fix for the display freeze some of you reported.",
    ),
    (
        "#RideLumen: your best commutes this month",
        "We asked, you delivered: {n}00 photos of commutes {weather}. Here are our favourites.",
    ),
    (
        "A new service point in {place}",
        "Repairs, test rides and a very good espresso machine, opening next month.",
    ),
)
CRISIS_PRESS = (
    "Lumen Arc battery latch: what owners need to know",
    "Reports of Arc batteries falling out on rough roads spread fast today. We looked at the latch and asked Lumen for answers.",
)
RIVAL_POSTS = (
    "The new {p} is here. Lighter frame, longer range, same price. Test rides this weekend",
    "Spring service deals on every {p}. Book now",
    "Commute smarter: the {p} folds in ten seconds and fits under your desk",
    "Thank you for 50,000 {p} riders! 💛",
)
CRISIS_BLOG = (
    "Arc battery latch: what happened and what we're doing",
    "A batch of latch springs from one supplier can weaken on rough roads. We'll replace every Arc latch free of charge. Here's how.",
)
COMMENTS_EN = (
    "Thanks for the honest review, that's exactly the detail I needed",
    "Mine has the same {part} issue, good to know it's not just me",
    "Would love a follow-up after winter",
    "Great write-up. Did you test the {comp_product} in the rain too?",
    "Finally a review that mentions the weight. Thank you",
)

OP_FOLLOWUPS = (
    "Thanks {first}, that's really helpful",
    "Good to know {first}, will try that",
    "Ha, yes, {color} it is",
    "Appreciate it, {first}!",
    "Update: sorted, thanks {first} and everyone",
    "Fair point {first}",
    "Yes {first}! Exactly that",
)
# Words people put around a reply, by mood; they keep two people's replies from being identical.
OPENERS: dict[str, Sequence[str]] = {
    "positive": (
        "",
        "",
        "",
        "Oh nice! ",
        "Love this. ",
        "Ha, ",
        "Yes! ",
        "Honestly, ",
        "Aw, ",
        "{first}, ",
        "Nice one {first}. ",
        "Same vibe here. ",
        "Oh wow. ",
    ),
    "negative": (
        "",
        "",
        "",
        "Oof. ",
        "Ugh, ",
        "Oh no. ",
        "Yikes. ",
        "Honestly, ",
        "{first}, ",
        "Sorry {first}. ",
        "Wow. ",
        "Not good. ",
        "Seriously? ",
    ),
    "neutral": (
        "",
        "",
        "",
        "Hmm, ",
        "Fwiw, ",
        "Good point. ",
        "{first}, ",
        "Interesting. ",
        "From my experience: ",
        "Ok so ",
        "Hey {first}, ",
    ),
}
CLOSERS: dict[str, Sequence[str]] = {
    "positive": (
        "",
        "",
        "",
        " Enjoy!",
        " Ride safe!",
        " Happy riding",
        " Have fun with it",
        " Keep us posted",
        " Nice work",
        " {emoji_pos}",
    ),
    "negative": (
        "",
        "",
        "",
        " Hope it gets sorted",
        " Keep us posted",
        " Not okay",
        " Fingers crossed for you",
        " Push them on it",
        " {emoji_neg}",
        " Good luck with it",
    ),
    "neutral": (
        "",
        "",
        "",
        " Hope that helps",
        " YMMV",
        " Just my experience",
        " Curious what others say",
        " Good luck",
    ),
}
CRISIS_OPENERS = (
    "",
    "",
    "",
    "Ugh. ",
    "Unreal. ",
    "PSA: ",
    "Heads up, Arc owners: ",
    "Well. ",
    "Not again. ",
    "Seriously, ",
    "Can't believe this. ",
    "WTF. ",
)
CRISIS_DETAILS = (
    "",
    "",
    "",
    " Bought it {months} months ago.",
    " Only {km}0 km on it.",
    " Luckily I was going slowly.",
    " Right by the {place} station.",
    " My kid was on the back.",
    " Second time this week.",
    " Bike is parked now.",
    " Dealer in {place} has no idea.",
    " Support line busy all morning.",
)
CRISIS_CLOSERS = (
    "",
    "",
    " {emoji_neg}",
    " #LumenArc",
    " #ebike",
    " Please share.",
    " Not okay.",
    " Check your latches, people.",
    " Unacceptable.",
)
QUOTES: dict[str, Sequence[str]] = {
    "positive": (
        "This 👆",
        "Worth reading if you're thinking about an e-bike",
        "Couldn't agree more",
        "Same. Such a good bike",
        "More of this energy please",
        "Good thread",
    ),
    "negative": (
        "Not great news for {brand}",
        "Hmm. Anyone else seeing this?",
        "This is why I'm still waiting before buying",
        "Yikes",
        "{brand} needs to respond to this",
    ),
}
VIRAL_ECHO = (
    "Ever since that moving-day video I can't stop looking at the {viral}",
    "Test rides for the {viral} are booked out in {place} after that video. Wild",
    "My whole group chat is sending me the fridge-on-a-cargo-bike video",
    "The {viral} moving video convinced my {relative}. We're getting one",
)
VIRAL_AUTHOR_REPLIES = (
    "Ratchet straps and a lot of optimism",
    "Max load is around 200 kg, we were well under it I promise",
    "About 3 km each way, fourteen times",
    "Thank you! My legs say otherwise",
    "The fridge was empty, before anyone asks",
)
VIRAL_BRAND = "We've watched this forty times. Dani, your next set of tyres is on us 💚 #RideLumen"
BRAND_STATEMENT_REPLIES = (
    "Thanks for owning it quickly. Booked my check",
    "Too little, too late. My battery fell out last week",
    "Appreciate the transparency. How long until latches are replaced?",
    "Why did it take a viral thread for you to say something?",
    "Good response. Mine is parked until the fix",
    "Is the Drift affected too or only the Arc?",
    "Will there be compensation for the weeks without a bike?",
)
HN_OPENERS = (
    "",
    "",
    "Agreed. ",
    "Counterpoint: ",
    "Anecdotally, ",
    "FWIW ",
    "Not sure about that. ",
    "This matches my experience. ",
)
HN_CLOSERS = (
    "",
    "",
    "",
    " YMMV.",
    " Just my two cents.",
    " Curious what others think.",
    " Happy to answer questions.",
)


def fill(template: str, rng: random.Random, lang: str, extra: Mapping[str, str]) -> str:
    """Replace each ``{slot}`` with ``extra[slot]`` or a pick from the language's vocabulary.

    A slot used twice gets the same word; ``{color2}`` picks a word other than ``{color}``'s.
    """
    vocab = VOCAB.get(lang, VOCAB["en"])
    chosen = dict(extra)
    if "{comp" in template and "comp_product" not in chosen:
        # A rival's products go with that rival's name.
        rival = chosen.setdefault("competitor", rng.choice(COMPETITORS))
        products = list(COMPETITOR_PRODUCTS[rival])
        rng.shuffle(products)
        chosen["comp_product"], chosen["comp_product2"] = products

    def choices(name: str) -> Sequence[str]:
        for source in (vocab, COMMON, VOCAB["en"]):
            found = source.get(name)
            if found:
                return found
        raise KeyError(f"no vocabulary for slot {name!r}")

    def pick(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in chosen:
            base = name.rstrip("0123456789")
            options = list(choices(base))
            if base != name and base in chosen and len(options) > 1:
                options = [c for c in options if c != chosen[base]]
            chosen[name] = rng.choice(options)
        word = chosen[name]
        before = template[: match.start()].rstrip(" ")
        if (
            word[:1].isalpha()
            and not word.startswith("http")
            and (not before or before.endswith((".", "!", "?", "\n")))
        ):
            word = word[:1].upper() + word[1:]
        return word

    return _SLOT.sub(pick, template)
